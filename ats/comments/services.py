"""Comments: internal notes of a company's staff on an application."""
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ats.common.access import (application_visible_or_404, can_delete_comment, can_edit_comment,
                               can_see_comments, comment_visible_or_404, require)
from ats.common.db import utcnow
from ats.common.pagination import keyset_page
from ats.extensions import db
from ats.models import Comment, User

# what a comment answers: its author, in the same query (a page costs one statement)
WITH_AUTHOR = (joinedload(Comment.author),)
WITH_APPLICATION = (joinedload(Comment.application), joinedload(Comment.author))


def _application_for_comments(user: User, application_id: int):
    application = application_visible_or_404(application_id, user)  # others: 404
    require(can_see_comments(user, application))  # its candidate: 403
    return application


def add(user: User, application_id: int, body: str) -> Comment:
    application = _application_for_comments(user, application_id)
    now = utcnow()  # one instant: a comment never edited has updated_at == created_at
    comment = Comment(application_id=application.id, author=user, body=body,
                      created_at=now, updated_at=now)
    db.session.add(comment)
    db.session.commit()
    return comment


def list_for_application(user: User, application_id: int, args: dict) -> dict:
    application = _application_for_comments(user, application_id)
    stmt = select(Comment).where(Comment.application_id == application.id)
    return keyset_page(stmt, Comment.id, args["limit"], args.get("cursor"),
                       options=WITH_AUTHOR, ascending=True)


def edit(user: User, comment_id: int, body: str) -> Comment:
    comment = comment_visible_or_404(comment_id, user, WITH_APPLICATION)
    require(can_edit_comment(user, comment))
    comment.body = body
    db.session.commit()
    return comment


def delete(user: User, comment_id: int) -> None:
    comment = comment_visible_or_404(comment_id, user, WITH_APPLICATION)
    require(can_delete_comment(user, comment))
    db.session.delete(comment)
    db.session.commit()
