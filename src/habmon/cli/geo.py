"""``habmon geo …``: countries, regions, groupings, cities, engagements."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from habmon.cli.context import monitor
from habmon.cli.options import JsonOpt, LangOpt, checked_lang
from habmon.cli.output import choice, console, emit_json, handled, table
from habmon.geo.model import GeoUnit, UnitKind
from habmon.services import Monitor

geo_app = typer.Typer(help="Geography: countries, regions, groupings, cities, engagements.", no_args_is_help=True)


def unit_dict(m: Monitor, unit: GeoUnit) -> dict[str, Any]:
    geography = m.geography()
    engagement = m.works_in(unit.code)
    _, header = m.engagements()
    return {
        "code": unit.code,
        "kind": str(unit.kind),
        "m49": unit.m49,
        "iso2": unit.iso2,
        "iso3": unit.iso3,
        "names": dict(unit.names),
        "latitude": unit.latitude,
        "longitude": unit.longitude,
        "population": unit.population,
        "valid_from": unit.validity.valid_from,
        "valid_to": unit.validity.valid_to,
        "note": unit.note,
        "parents": [{"code": p.code, "kind": str(p.kind), "name": p.name()} for p in geography.ancestors(unit.code)],
        "groups": [{"code": g.code, "kind": str(g.kind), "name": g.name()} for g in geography.groups(unit.code)],
        "children": len(geography.children(unit.code)),
        "aliases": [{"scheme": str(a.scheme), "value": a.value} for a in geography.aliases_of(unit.code)],
        "unhabitat_engagement": None
        if engagement is None
        else {
            "start": engagement.start,
            "end": engagement.end,
            "illustrative": engagement.illustrative,
            "list": header["name"] if header else None,
        },
    }


@geo_app.command("show")
def geo_show(code: str, json_output: JsonOpt = False, lang: LangOpt = "en") -> None:
    """A geography unit by M49, ISO3, ISO2 or city id: names, hierarchy, groupings, engagement."""
    with handled(json_output):
        m = monitor()
        unit = m.geography().resolve(code)
        data = unit_dict(m, unit)
        if json_output:
            emit_json(data)
            return
        lang = checked_lang(lang)
        engagement = data["unhabitat_engagement"]
        rows = [
            ["code", unit.code],
            ["kind", unit.kind],
            ["name", unit.name(lang)],
            ["names", " · ".join(f"{k}: {v}" for k, v in unit.names.items())],
            ["M49 / ISO3 / ISO2", f"{unit.m49 or '—'} / {unit.iso3 or '—'} / {unit.iso2 or '—'}"],
            ["within", " → ".join(p["name"] for p in data["parents"]) or "—"],
            ["groupings", ", ".join(g["name"] for g in data["groups"]) or "—"],
            ["valid", f"{unit.validity.valid_from or '…'} – {unit.validity.valid_to or '…'}"],
            [
                "UN-Habitat works here",
                "no"
                if engagement is None
                else f"since {engagement['start']}"
                + (" [yellow](ILLUSTRATIVE list)[/]" if engagement["illustrative"] else ""),
            ],
        ]
        if unit.latitude is not None:
            rows.append(["position", f"{unit.latitude}, {unit.longitude}"])
        if unit.population is not None:
            rows.append(["population (2020)", f"{unit.population:,.0f}"])
        if unit.note:
            rows.append(["note", unit.note])
        console.print(table(unit.name(lang), ["field", "value"], rows))


@geo_app.command("list")
def geo_list(
    kind: Annotated[
        str, typer.Option(help="world, region, subregion, country, city, group, regional_office")
    ] = "region",
    json_output: JsonOpt = False,
    lang: LangOpt = "en",
) -> None:
    """List units of one kind."""
    with handled(json_output):
        wanted = choice(UnitKind, kind, "--kind")
        units = sorted(monitor().geography().of_kind(wanted), key=lambda u: u.code)
        if json_output:
            emit_json([{"code": u.code, "m49": u.m49, "iso3": u.iso3, "name": u.name(lang)} for u in units])
            return
        console.print(
            table(
                f"{len(units)} × {kind}",
                ["code", "ISO3", "name"],
                [[u.code, u.iso3, u.name(checked_lang(lang))] for u in units],
            )
        )


@geo_app.command("engagements")
def geo_engagements(
    json_output: JsonOpt = False,
    import_file: Annotated[Path | None, typer.Option("--import", help="CSV: place,start,end,note")] = None,
    name: Annotated[str, typer.Option(help="Name of the imported list.")] = "engagement list",
) -> None:
    """Places where UN-Habitat works (the newest list), or import a new list."""
    with handled(json_output):
        m = monitor()
        if import_file is not None:
            step = m.import_engagements(import_file, name)
            console.print(f"{'imported' if step.created else 'unchanged'}: {step.detail}")
            return
        engagements, header = m.engagements()
        if json_output:
            emit_json(
                {
                    "list": header,
                    "places": [{"code": e.code, "start": e.start, "end": e.end, "note": e.note} for e in engagements],
                }
            )
            return
        geography = m.geography()
        label = header["name"] if header else "no list loaded"
        console.print(
            table(
                label,
                ["code", "place", "start", "end"],
                [[e.code, geography.units[e.code].name(), e.start, e.end or ""] for e in engagements],
            )
        )
        if header and header["illustrative"]:
            console.print("[yellow]ILLUSTRATIVE: demo data, not UN-Habitat's portfolio.[/]")
