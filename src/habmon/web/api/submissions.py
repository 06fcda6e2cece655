"""REST API v1, writing: submissions, their reports and the workflow; the caller's account and API tokens.

Authenticate with ``Authorization: Bearer hm_…`` (a token from the account page or
``habmon tokens create``). Without a token the answer is 401, outside one's scope or role 403, a file
above the upload limit 413, an invalid file 422 with every problem in ``error.details.problems``.
The service decides every permission; these handlers only translate HTTP to service calls.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Body, File, Form, Path, Query, Request, Response, Security, UploadFile
from pydantic import BaseModel, Field

from habmon.access.model import Action, Principal
from habmon.problems import InvalidDocument
from habmon.submission.service import Submissions
from habmon.submission.workflow import OrganizationType, State
from habmon.web.api.common import ERRORS, ErrorResponse, PageInfo, PageParams, bearer, paginate
from habmon.web.api.v1 import API
from habmon.web.app import Site
from habmon.web.auth import CsrfChecked, CurrentPrincipal, access_of, refused_early
from habmon.web.pages.submissions import STEPS, ascii_name, detail, form_defaults, submissions_for, summary, take
from habmon.web.render import json_response
from habmon.web.uploads import saved

WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    409: {"model": ErrorResponse, "description": "The submission's state does not allow this step"},
    413: {"model": ErrorResponse, "description": "The file is larger than the upload limit"},
}


class ProblemOut(BaseModel):
    type: str
    title: str
    severity: str
    message: str
    file: str | None
    path: str | None
    sheet: str | None
    row: int | None
    column: str | None
    expected: str
    found: str
    hint: str | None


class ReportOut(BaseModel):
    valid: bool
    errors: int
    warnings: int
    problems: list[ProblemOut]


class SubmissionSummary(BaseModel):
    id: int
    state: State
    format: str
    file_name: str
    submitter: str
    organization: str
    organization_type: OrganizationType
    rows: int
    created_at: datetime
    updated_at: datetime
    comment: str | None


class SubmissionOut(SubmissionSummary):
    content_sha256: str
    source: str | None
    method_note: str | None
    vintage: str | None = Field(description="the release of the source (YYYY or YYYY-MM)")
    warnings: int


class SubmissionList(BaseModel):
    items: list[SubmissionSummary]
    page: PageInfo


class Changes(BaseModel):
    new: int = 0
    revised: int = 0
    unchanged: int = 0
    older: int = Field(0, description="values of an older vintage than the stored ones (history only)")


class SubmissionCreated(BaseModel):
    submission: int
    created: bool = Field(description="false: the same file was sent before; nothing changed")
    state: State
    format: str
    rows: int
    encoding: str | None
    changes: Changes
    vintage: str | None = Field(description="declared, or the month of submission")
    report: ReportOut


class ChangeOut(BaseModel):
    indicator: str
    geo: str
    period: int
    disaggregation: dict[str, str]
    status: str = Field(description="new, revised, unchanged or older (of an older vintage than the stored value)")
    old: float | None
    old_revision: int | None
    old_vintage: str | None
    new: float
    vintage: str | None
    source_row: int


class ChangeList(BaseModel):
    items: list[ChangeOut]
    page: PageInfo


class Comment(BaseModel):
    comment: str | None = Field(None, max_length=2000)


class Approval(Comment):
    accept_older_vintage: bool = Field(
        False,
        strict=True,
        description="approve although values are of an older vintage than the stored ones (history only)",
    )


class ReturnComment(BaseModel):
    comment: str = Field(min_length=1, max_length=2000, description="what the submitter should fix")


class Me(BaseModel):
    username: str
    role: str
    display_name: str
    organization: str | None
    geo_scope: list[str]


class TokenOut(BaseModel):
    id: int
    username: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    active: bool


class TokenList(BaseModel):
    items: list[TokenOut]


class NewToken(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="what the token is for")


class TokenCreated(BaseModel):
    token: str = Field(description="the token itself: shown this once, only its SHA-256 is stored")
    info: TokenOut


SubmissionId = Annotated[int, Path(ge=1, le=2**31 - 1, description="submission number")]
TokenId = Annotated[int, Path(ge=1, le=2**31 - 1, description="token number")]


def submission_out(row: dict[str, Any]) -> dict[str, Any]:
    data = detail(row)
    data["warnings"] = (data.pop("report") or {}).get("warnings", 0)
    return SubmissionOut.model_validate(data).model_dump(mode="json")


def register(site: Site) -> None:
    router = APIRouter(
        prefix=API, tags=["submissions"], responses=WRITE_ERRORS, dependencies=[Security(bearer), CsrfChecked]
    )
    services = site.services

    def service(who: Principal) -> Submissions:
        return submissions_for(site, who)

    @router.get(
        "/submissions",
        operation_id="listSubmissions",
        response_model=SubmissionList,
        dependencies=[refused_early(Action.READ_SUBMISSION)],
    )
    def list_submissions(
        request: Request,
        who: CurrentPrincipal,
        page: PageParams,
        state: Annotated[State | None, Query(description="only submissions in this state")] = None,
    ) -> Response:
        """The submissions the caller may read (own scope or organization; every one for reviewers), oldest first."""
        rows = service(who).entries(None if state is None else str(state))
        items, info = paginate(request, [SubmissionSummary.model_validate(summary(r)) for r in rows], page)
        return json_response(request, SubmissionList(items=items, page=info).model_dump(mode="json"))

    @router.post(
        "/submissions",
        operation_id="createSubmission",
        response_model=SubmissionCreated,
        status_code=201,
        responses={200: {"model": SubmissionCreated, "description": "The same file was sent before"}},
        dependencies=[refused_early(Action.SUBMIT)],
    )
    def create_submission(
        request: Request,
        who: CurrentPrincipal,
        file: Annotated[UploadFile, File(description="CSV, Excel, SDMX or Open SDG file")],
        organization: Annotated[str | None, Form(max_length=200, description="default: the caller's")] = None,
        organization_type: Annotated[OrganizationType | None, Form()] = None,
        source: Annotated[str | None, Form(max_length=500, description="for rows that name none")] = None,
        method_note: Annotated[str | None, Form(max_length=2000)] = None,
        format: Annotated[str | None, Form(max_length=20, description="csv, xlsx, sdmx or opensdg")] = None,
        geo: Annotated[str | None, Form(max_length=40, description="place of an Open SDG file")] = None,
        indicator: Annotated[str | None, Form(max_length=40, description="indicator of an Open SDG file")] = None,
        vintage: Annotated[
            str | None, Form(max_length=20, description="release of the source: YYYY or YYYY-MM (default: this month)")
        ] = None,
    ) -> Response:
        """Validate a file and store it as a submission (state validated). With errors nothing is stored: 422."""
        defaults = form_defaults(who)
        with saved(file, services.settings.max_upload_bytes) as path:
            outcome = service(who).submit(
                path,
                organization=(organization or "").strip() or defaults["organization"],
                organization_type=organization_type or OrganizationType(defaults["organization_type"]),
                source=(source or "").strip() or None,
                method_note=(method_note or "").strip() or None,
                fmt=format or None,
                geo=(geo or "").strip() or None,
                indicator=(indicator or "").strip() or None,
                source_name=path.name,
                vintage=vintage,
            )
        if outcome.submission_id is None:
            raise InvalidDocument(path.name, outcome.report)
        body = SubmissionCreated.model_validate(outcome.to_dict()).model_dump(mode="json")
        status = 201 if outcome.created else 200
        headers = {"Location": f"{API}/submissions/{outcome.submission_id}"}
        return json_response(request, body, status_code=status, headers=headers)

    @router.get(
        "/submissions/{submission_id}",
        operation_id="getSubmission",
        response_model=SubmissionOut,
        dependencies=[refused_early(Action.READ_SUBMISSION)],
    )
    def get_submission(request: Request, who: CurrentPrincipal, submission_id: SubmissionId) -> Response:
        return json_response(request, submission_out(service(who).get(submission_id)))

    @router.get(
        "/submissions/{submission_id}/report",
        operation_id="getSubmissionReport",
        response_model=ReportOut,
        dependencies=[refused_early(Action.READ_SUBMISSION)],
    )
    def get_report(request: Request, who: CurrentPrincipal, submission_id: SubmissionId) -> Response:
        """The validation report stored with the submission (its warnings; a stored submission has no errors)."""
        row = service(who).get(submission_id)
        return json_response(request, ReportOut.model_validate(row["report"]).model_dump(mode="json"))

    @router.get(
        "/submissions/{submission_id}/changes",
        operation_id="getSubmissionChanges",
        response_model=ChangeList,
        dependencies=[refused_early(Action.READ_SUBMISSION)],
    )
    def get_changes(request: Request, who: CurrentPrincipal, submission_id: SubmissionId, page: PageParams) -> Response:
        """Each value against the stored one: revised first (old → new), then new, then unchanged."""
        changes = service(who).changes(submission_id, limit=None)
        items, info = paginate(request, [ChangeOut.model_validate(c) for c in changes], page)
        return json_response(request, ChangeList(items=items, page=info).model_dump(mode="json"))

    @router.get(
        "/submissions/{submission_id}/original",
        operation_id="getSubmissionOriginal",
        dependencies=[refused_early(Action.READ_SUBMISSION)],
        response_class=Response,
        responses={200: {"content": {"application/octet-stream": {}}, "description": "the file as it was sent"}},
    )
    def get_original(who: CurrentPrincipal, submission_id: SubmissionId) -> Response:
        name, content = service(who).original(submission_id)
        return Response(
            content,
            media_type="application/octet-stream",
            headers={"Content-Disposition": f'attachment; filename="{submission_id}-{ascii_name(name)}"'},
        )

    def add_step(name: str, operation_id: str, action: Action, summary: str, description: str) -> None:
        """approve and publish: a workflow step with an optional comment."""

        def take_step(
            request: Request,
            tasks: BackgroundTasks,
            who: CurrentPrincipal,
            submission_id: SubmissionId,
            body: Annotated[Comment | None, Body()] = None,
        ) -> Response:
            take(site, STEPS[name], who, submission_id, body.comment if body else None, tasks)
            return json_response(request, submission_out(service(who).get(submission_id)))

        router.add_api_route(
            f"/submissions/{{submission_id}}/{name}",
            take_step,
            methods=["POST"],
            operation_id=operation_id,
            summary=summary,
            description=description,
            response_model=SubmissionOut,
            dependencies=[refused_early(action)],
        )

    @router.post(
        "/submissions/{submission_id}/approve",
        operation_id="approveSubmission",
        summary="Approve",
        response_model=SubmissionOut,
        dependencies=[refused_early(Action.APPROVE)],
    )
    def approve_submission(
        request: Request,
        tasks: BackgroundTasks,
        who: CurrentPrincipal,
        submission_id: SubmissionId,
        body: Annotated[Approval | None, Body()] = None,
    ) -> Response:
        """Approve a validated submission: its values become stored revisions (officers, not for a submission they
        sent themselves, and administrators). Values of an older vintage than the stored ones need
        ``accept_older_vintage`` (409 without it): they are kept in the history and do not become current."""
        approval = body or Approval()
        older = approval.accept_older_vintage
        take(site, STEPS["approve"], who, submission_id, approval.comment, tasks, accept_older_vintage=older)
        return json_response(request, submission_out(service(who).get(submission_id)))

    @router.post(
        "/submissions/{submission_id}/return",
        operation_id="returnSubmission",
        response_model=SubmissionOut,
        dependencies=[refused_early(Action.RETURN)],
    )
    def return_submission(
        request: Request,
        tasks: BackgroundTasks,
        who: CurrentPrincipal,
        submission_id: SubmissionId,
        body: ReturnComment,
    ) -> Response:
        """Return a submission to its submitter with what to fix (officers and administrators)."""
        take(site, STEPS["return"], who, submission_id, body.comment, tasks)
        return json_response(request, submission_out(service(who).get(submission_id)))

    add_step(
        "publish",
        "publishSubmission",
        Action.PUBLISH,
        "Publish",
        "Publish an approved submission: its values appear in the public API at once, and in aggregates and "
        "progress after the monitoring run this queues.",
    )

    account = APIRouter(
        prefix=API,
        tags=["account"],
        responses=ERRORS,
        dependencies=[Security(bearer), CsrfChecked, refused_early(Action.MANAGE_OWN_TOKENS)],
    )
    whoami = APIRouter(prefix=API, tags=["account"])

    @whoami.get("/me", operation_id="getMe", response_model=Me)
    def me(request: Request, who: CurrentPrincipal) -> Response:
        """Who the token belongs to (the public without one)."""
        data = Me(
            username=who.username,
            role=str(who.role),
            display_name=who.display_name,
            organization=who.organization,
            geo_scope=sorted(who.geo_scope),
        )
        return json_response(request, data.model_dump(mode="json"))

    @account.get("/tokens", operation_id="listTokens", response_model=TokenList)
    def list_tokens(request: Request, who: CurrentPrincipal) -> Response:
        """The caller's own API tokens (revoked ones too)."""
        tokens = access_of(site).tokens(who, who.username)
        data = TokenList(items=[TokenOut.model_validate(t.to_dict()) for t in tokens])
        return json_response(request, data.model_dump(mode="json"))

    @account.post("/tokens", operation_id="createToken", response_model=TokenCreated, status_code=201)
    def create_token(request: Request, who: CurrentPrincipal, body: NewToken) -> Response:
        """A new API token for the caller; the answer is the only time it is shown."""
        plaintext, info = access_of(site).create_token(who, body.name)
        data = TokenCreated(token=plaintext, info=TokenOut.model_validate(info.to_dict()))
        return json_response(request, data.model_dump(mode="json"), status_code=201)

    @account.delete("/tokens/{token_id}", operation_id="revokeToken", response_model=TokenOut)
    def revoke_token(request: Request, who: CurrentPrincipal, token_id: TokenId) -> Response:
        """Revoke one of the caller's tokens (an administrator: anyone's); it stops working at once."""
        info = access_of(site).revoke_token(who, token_id)
        return json_response(request, TokenOut.model_validate(info.to_dict()).model_dump(mode="json"))

    site.app.include_router(router)
    site.app.include_router(account)
    site.app.include_router(whoami)
