"""Submissions in the browser: upload or download a template, read the validation report, follow the workflow.

Pages (each with its JSON twin):

* ``/submissions`` — the submissions the user may read (the service filters them), by state;
* ``/submissions/new`` — the upload form and the template form (``?resubmit=N`` prefills from a returned one);
* ``POST /submissions`` — validate and store; with errors the report page lists every problem (422) and
  nothing is stored; stored: 303 to the submission;
* ``/submissions/template.xlsx`` — an Excel template for indicators × places (``habmon template``);
* ``/submissions/{id}`` — state, report, the values against the stored ones, the reviewer's actions;
* ``/submissions/{id}/original`` — the file as it was sent;
* ``POST /submissions/{id}/approve|return|publish`` — the workflow (officers and administrators);
* ``/review`` — the reviewers' queue: validated submissions to approve or return, approved ones to publish.

Handlers call :class:`~habmon.submission.service.Submissions` for the signed-in principal; the service
decides what the principal may do. ``allowed`` only hides buttons that would be refused.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import RedirectResponse

from habmon.access.model import Action as Permission
from habmon.access.model import Principal, Role
from habmon.access.policy import Rule, allowed, rule_for
from habmon.ingest.formats import registry as formats
from habmon.ingest.formats.excel import LANGUAGES as TEMPLATE_LANGUAGES
from habmon.ingest.formats.excel import write_template
from habmon.problems import InvalidDocument
from habmon.store import bulk
from habmon.submission.service import ORGANIZATION_TYPES, OlderVintage, SubmissionOutcome, Submissions
from habmon.submission.workflow import TRANSITIONS, OrganizationType, State, WorkflowError
from habmon.submission.workflow import Action as Step
from habmon.web.app import Site
from habmon.web.auth import CsrfChecked, CurrentPrincipal, monitor_for
from habmon.web.errors import register_status
from habmon.web.render import Page, language, page_route, wants_json
from habmon.web.runs import ask_for_run
from habmon.web.uploads import saved

DIFF_LIMIT = 1000
register_status(WorkflowError, 409)  # the submission's state does not allow the step: a conflict, not bad input
register_status(OlderVintage, 409)  # values of an older vintage than the stored ones: approving needs a decision
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REVIEW_STATES = (State.VALIDATED, State.APPROVED)

# the organization type a form proposes for a role (the service decides which it accepts)
DEFAULT_ORGANIZATION_TYPE: dict[Role, OrganizationType] = {
    Role.ADMIN: OrganizationType.SECRETARIAT,
    Role.OFFICER: OrganizationType.SECRETARIAT,
    Role.FOCAL_POINT: OrganizationType.MEMBER_STATE,
    Role.PARTNER: OrganizationType.PARTNER,
}


@dataclass(frozen=True, slots=True)
class WorkflowStep:
    """A reviewer's step on a submission: the workflow action, its permission and how the service does it."""

    step: Step
    permission: Permission
    run: Callable[[Submissions, int, str | None, bool], object]  # (…, comment, accept an older vintage)
    needs_comment: bool = False
    changes_public_figures: bool = False  # publishing: the aggregates and progress need a new monitoring run


STEPS: dict[str, WorkflowStep] = {
    "approve": WorkflowStep(
        Step.APPROVE, Permission.APPROVE, lambda s, i, c, older: s.approve(i, c or None, accept_older_vintage=older)
    ),
    "return": WorkflowStep(Step.RETURN, Permission.RETURN, lambda s, i, c, _older: s.return_(i, c or ""), True),
    "publish": WorkflowStep(
        Step.PUBLISH, Permission.PUBLISH, lambda s, i, c, _older: s.publish(i, c or None), changes_public_figures=True
    ),
}


def submissions_for(site: Site, who: Principal) -> Submissions:
    """The submissions service acting as ``who`` (it authorizes every operation)."""
    return Submissions(monitor_for(site, who))


def take(
    site: Site,
    step: WorkflowStep,
    who: Principal,
    submission_id: int,
    comment: str | None,
    tasks: BackgroundTasks,
    *,
    accept_older_vintage: bool = False,
) -> None:
    """Take a workflow step; a publication queues a new monitoring run so public pages show the new values.
    ``accept_older_vintage``: the reviewer's explicit decision to approve values of an older vintage."""
    step.run(submissions_for(site, who), submission_id, comment, accept_older_vintage)
    if step.changes_public_figures and site.services.settings.run_after_publish:
        ask_for_run(site, who, tasks)


def _(message: str) -> str:
    """Marks an interface string for extraction (scripts/i18n.sh); templates translate it."""
    return message


STATE_LABELS: dict[str, str] = {
    State.DRAFT: _("draft"),
    State.SUBMITTED: _("submitted"),
    State.VALIDATED: _("validated"),
    State.APPROVED: _("approved"),
    State.PUBLISHED: _("published"),
    State.RETURNED: _("returned"),
}
STEP_LABELS: dict[str, str] = {"approve": _("Approve"), "return": _("Return"), "publish": _("Publish")}
# problem severities and the status of a value against the stored one, as the templates show them
WORDS = (_("error"), _("warning"), _("new"), _("revised"), _("unchanged"), _("older vintage"))
ORGANIZATION_TYPE_LABELS: dict[str, str] = {
    OrganizationType.MEMBER_STATE: _("member state"),
    OrganizationType.SECRETARIAT: _("secretariat"),
    OrganizationType.PARTNER: _("partner"),
}


def steps_for(principal: Principal, row: Mapping[str, Any]) -> list[str]:
    """The workflow steps the principal may take on a submission in its state (to show buttons; the service
    decides again)."""
    return [
        name
        for name, step in STEPS.items()
        if State(row["state"]) in TRANSITIONS[step.step][0]
        and allowed(principal, step.permission, owner=row["submitter"])
    ]


def utc(moment: datetime) -> datetime:
    """SQLite gives back naive UTC datetimes, PostgreSQL aware ones: always aware (RFC 3339 in JSON)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def summary(row: Mapping[str, Any]) -> dict[str, Any]:
    """The public fields of a submission row (the list and the API share them)."""
    report = row.get("report") or {}
    return {
        "id": row["id"],
        "state": row["state"],
        "format": row["format"],
        "file_name": row["file_name"],
        "submitter": row["submitter"],
        "organization": row["organization"],
        "organization_type": row["organization_type"],
        "rows": row["rows"],
        "created_at": utc(row["created_at"]),
        "updated_at": utc(row["updated_at"]),
        "comment": row["comment"],
        **({"warnings": report.get("warnings", 0)} if "report" in row else {}),
    }


def detail(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **summary(row),
        "content_sha256": row["content_sha256"],
        "source": row["source"],
        "method_note": row["method_note"],
        "vintage": row.get("vintage"),
        "report": row["report"],
    }


def change_counts(changes: list[dict[str, Any]]) -> dict[str, int]:
    return {status: sum(1 for c in changes if c["status"] == status) for status in bulk.STATUSES}


def organization_types_for(principal: Principal) -> list[str]:
    chosen = ORGANIZATION_TYPES.get(principal.role, frozenset(OrganizationType))
    return [str(t) for t in OrganizationType if t in chosen]


def form_defaults(principal: Principal, previous: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What the upload form proposes: the user's organization and type, or those of the submission it replaces."""
    if previous is not None:
        return {
            "organization": previous.get("organization") or "",
            "organization_type": previous.get("organization_type") or "",
            "source": previous.get("source") or "",
            "method_note": previous.get("method_note") or "",
            "vintage": previous.get("vintage") or "",
        }
    default_type = DEFAULT_ORGANIZATION_TYPE.get(principal.role, OrganizationType.MEMBER_STATE)
    return {
        "organization": principal.organization or principal.display_name or principal.username,
        "organization_type": str(default_type),
        "source": "",
        "method_note": "",
        "vintage": "",
    }


def upload_form(site: Site, principal: Principal, lang: str, values: Mapping[str, Any]) -> dict[str, Any]:
    registry = site.services.registry()
    return {
        "values": dict(values),
        "organization_types": organization_types_for(principal),
        "organization_fixed": principal.role in ORGANIZATION_TYPES,
        "formats": list(formats.installed().names),
        "max_upload_bytes": site.services.settings.max_upload_bytes,
        "indicators": [{"code": i.code, "name": i.name.get(lang)} for i in registry.indicators],
        "template_places": sorted(principal.geo_scope),
        "template_languages": list(TEMPLATE_LANGUAGES),
    }


def register(site: Site) -> None:
    router = APIRouter()
    services = site.services

    def service(who: Principal) -> Submissions:
        return submissions_for(site, who)

    @page_route(router, "/submissions", name="submissions")
    def submissions_list(
        request: Request, who: CurrentPrincipal, state: Annotated[State | None, Query()] = None
    ) -> Response:
        rows = service(who).entries(None if state is None else str(state))
        data = {
            "state": None if state is None else str(state),
            "states": [str(s) for s in State if s != State.DRAFT],
            "can_submit": rule_for(who, Permission.SUBMIT) != Rule.NEVER,
            "items": [summary(r) for r in rows],
        }
        return site.renderer.respond(request, Page("submissions/list.html", data, title="Submissions"))

    @page_route(router, "/submissions/new", name="submissions.new")
    def submissions_new(
        request: Request, who: CurrentPrincipal, resubmit: Annotated[int | None, Query(ge=1)] = None
    ) -> Response:
        lang = language(request, services.settings)
        previous = None
        if resubmit is not None:
            previous = detail(service(who).get(resubmit))
        data = {
            "resubmit": previous,
            "form": upload_form(site, who, lang, form_defaults(who, previous)),
            "can_submit": rule_for(who, Permission.SUBMIT) != Rule.NEVER,
        }
        return site.renderer.respond(request, Page("submissions/new.html", data, title="Send data"))

    @router.get("/submissions/template.xlsx", name="submissions.template", include_in_schema=False)
    def submissions_template(
        request: Request,
        indicator: Annotated[list[str], Query(min_length=1, max_length=100)],
        geo: Annotated[list[str], Query(max_length=500)],
        lang: Annotated[str, Query(pattern="^(en|zh)$")] = "en",
    ) -> Response:
        """An Excel template for indicators × places (geo codes may be separated by commas or spaces)."""
        places = [code for text in geo for code in text.replace(",", " ").split() if code]
        with tempfile.TemporaryDirectory(prefix="habmon-template-") as directory:
            path = Path(directory) / "template.xlsx"
            write_template(
                path,
                registry=services.registry(),
                geography=services.geography(),
                indicators=indicator,
                geos=places,
                lang=lang,
            )
            content = path.read_bytes()
        name = f"habmon-template-{'-'.join(indicator[:3])}-{lang}.xlsx"
        return Response(content, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @router.post("/submissions", name="submissions.create", include_in_schema=False, dependencies=[CsrfChecked])
    def submissions_create(
        request: Request,
        who: CurrentPrincipal,
        file: Annotated[UploadFile, File()],
        organization: Annotated[str, Form(max_length=200)] = "",
        organization_type: Annotated[OrganizationType | None, Form()] = None,
        source: Annotated[str, Form(max_length=500)] = "",
        method_note: Annotated[str, Form(max_length=2000)] = "",
        format: Annotated[str, Form(max_length=20)] = "",
        geo: Annotated[str, Form(max_length=40)] = "",
        indicator: Annotated[str, Form(max_length=40)] = "",
        vintage: Annotated[str, Form(max_length=20)] = "",
    ) -> Response:
        defaults = form_defaults(who)
        org = organization.strip() or defaults["organization"]
        org_type = organization_type or OrganizationType(defaults["organization_type"])
        with saved(file, services.settings.max_upload_bytes) as path:
            outcome = service(who).submit(
                path,
                organization=org,
                organization_type=org_type,
                source=source.strip() or None,
                method_note=method_note.strip() or None,
                fmt=format or None,
                geo=geo.strip() or None,
                indicator=indicator.strip() or None,
                source_name=path.name,
                vintage=vintage.strip() or None,
            )
        if outcome.submission_id is not None:
            if wants_json(request):
                return site.renderer.respond(
                    request, Page("", outcome.to_dict(), status_code=201 if outcome.created else 200)
                )
            flag = "created" if outcome.created else "existing"
            return RedirectResponse(f"/submissions/{outcome.submission_id}?{flag}=1", status_code=303)
        if wants_json(request):
            raise InvalidDocument(path.name, outcome.report)
        values = {
            "organization": org,
            "organization_type": str(org_type),
            "source": source,
            "method_note": method_note,
            "format": format,
            "geo": geo,
            "indicator": indicator,
            "vintage": vintage,
        }
        lang = language(request, services.settings)
        data = {"file_name": path.name, "outcome": outcome_data(outcome), "form": upload_form(site, who, lang, values)}
        return site.renderer.respond(
            request, Page("submissions/report.html", data, title="Validation report", status_code=422)
        )

    @page_route(router, "/review", name="review")
    def review_queue(request: Request, who: CurrentPrincipal) -> Response:
        submissions = service(who)
        rows = submissions.queue()
        items = [{**summary(r), "steps": steps_for(who, r)} for r in rows]
        for item in items:  # values of an older vintage than the stored ones need the reviewer's decision
            if item["state"] == State.VALIDATED:
                item["older_vintage"] = submissions.change_counts(item["id"])["older"]
        data = {
            "to_approve": [i for i in items if i["state"] == State.VALIDATED],
            "to_publish": [i for i in items if i["state"] == State.APPROVED],
        }
        return site.renderer.respond(request, Page("submissions/review.html", data, title="Review queue"))

    @page_route(router, "/submissions/{submission_id}", name="submissions.show")
    def submissions_show(
        request: Request,
        who: CurrentPrincipal,
        submission_id: int,
        created: bool = False,
        existing: bool = False,
    ) -> Response:
        submissions = service(who)
        row = submissions.get(submission_id)
        changes = submissions.changes(submission_id, limit=DIFF_LIMIT + 1)
        shown = changes[:DIFF_LIMIT]
        data = {
            "submission": detail(row),
            "notice": "created" if created else "existing" if existing else None,
            "changes": shown,
            "changes_truncated": len(changes) > DIFF_LIMIT,
            "counts": change_counts(shown),
            "steps": steps_for(who, row),
            "can_resubmit": row["state"] == State.RETURNED and rule_for(who, Permission.SUBMIT) != Rule.NEVER,
            "original_url": f"/submissions/{submission_id}/original",
        }
        title = f"#{submission_id} {row['file_name']}"
        return site.renderer.respond(request, Page("submissions/show.html", data, title=title))

    @router.get("/submissions/{submission_id}/original", name="submissions.original", include_in_schema=False)
    def submissions_original(who: CurrentPrincipal, submission_id: int) -> Response:
        name, content = service(who).original(submission_id)
        return Response(
            content,
            media_type="application/octet-stream",
            headers={"Content-Disposition": f'attachment; filename="{submission_id}-{ascii_name(name)}"'},
        )

    def add_step(name: str, step: WorkflowStep) -> None:
        def take_step(
            request: Request,
            who: CurrentPrincipal,
            submission_id: int,
            tasks: BackgroundTasks,
            comment: Annotated[str, Form(max_length=2000)] = "",
            accept_older_vintage: Annotated[bool, Form()] = False,
        ) -> Response:
            older = accept_older_vintage and step.step == Step.APPROVE
            take(site, step, who, submission_id, comment.strip() or None, tasks, accept_older_vintage=older)
            row = service(who).get(submission_id)
            if wants_json(request):
                return site.renderer.respond(request, Page("", detail(row)))
            return RedirectResponse(f"/submissions/{submission_id}", status_code=303)

        router.add_api_route(
            f"/submissions/{{submission_id}}/{name}",
            take_step,
            methods=["POST"],
            name=f"submissions.{name}",
            include_in_schema=False,
            dependencies=[CsrfChecked],
        )

    for name, step in STEPS.items():
        add_step(name, step)

    site.renderer.add_global("state_labels", STATE_LABELS)
    site.renderer.add_global("step_labels", STEP_LABELS)
    site.renderer.add_global("organization_type_labels", ORGANIZATION_TYPE_LABELS)
    site.app.include_router(router)


def outcome_data(outcome: SubmissionOutcome) -> dict[str, Any]:
    data = outcome.to_dict()
    data["report"]["problems"] = sorted(
        data["report"]["problems"],
        key=lambda p: (p["severity"] != "error", p["row"] is None, p["row"] or 0, p["column"] or ""),
    )
    return data


def ascii_name(name: str) -> str:
    """A file name safe in a Content-Disposition header (non-ASCII and quotes replaced)."""
    return "".join(ch if ch.isascii() and ch.isprintable() and ch not in '"\\' else "_" for ch in name) or "file"


__all__ = ["STEPS", "detail", "register", "submissions_for", "summary", "take"]
