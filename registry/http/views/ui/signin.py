"""Signing in (a token entered once, kept as its digest in the session cookie) and out.

Both are form posts, so they carry the CSRF token like every form of the UI."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField
from wtforms.validators import DataRequired, Length

from registry.http.views.ui import identity
from registry.http.views.ui.blueprint import bp


class SignInForm(FlaskForm):
    token = PasswordField("Token", validators=[DataRequired(), Length(max=4096)])
    next = HiddenField()


class SignOutForm(FlaskForm):
    pass


def safe_next(target: str | None) -> str:
    """Only a page of this UI: never an open redirect to another site."""
    if (
        target
        and target.startswith("/ui/")
        and not target.startswith("/ui//")
        and "\\" not in target
    ):
        return target
    return url_for("ui.home")


@bp.route("/ui/sign-in", methods=["GET", "POST"])
def sign_in() -> ResponseReturnValue:
    form = SignInForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    status, error = 200, ""
    if form.validate_on_submit():
        viewer = identity.sign_in(form.token.data or "")
        if viewer is not None:
            return redirect(safe_next(form.next.data), 303)
        status, error = 403, "This token is not configured for any role on this registry."
    elif request.method == "POST":
        status, error = 400, "Enter a token."
    return (
        render_template(
            "ui/sign_in.html",
            form=form,
            error=error,
            configured=identity.any_token_configured(),
            back=safe_next(form.next.data or request.args.get("next")),
        ),
        status,
    )


@bp.post("/ui/sign-out")
def sign_out() -> ResponseReturnValue:
    identity.sign_out()
    return redirect(url_for("ui.home"), 303)
