from flask_jwt_extended import get_current_user

from ats.comments import blp, services
from ats.comments.schemas import CommentIn, CommentOut, CommentPage
from ats.common.schemas import PageQuery


@blp.post("/applications/<id:application_id>/comments", operation_id="addComment")
@blp.auth()
@blp.arguments(CommentIn)
@blp.response(201, CommentOut)
@blp.errors(403, 404)
def add_comment(data, application_id):
    """Comment on an application (its company's staff, admins; never shown to its candidate)."""
    return services.add(get_current_user(), application_id, data["body"])


@blp.get("/applications/<id:application_id>/comments", operation_id="listComments")
@blp.auth()
@blp.arguments(PageQuery, location="query")
@blp.response(200, CommentPage)
@blp.errors(403, 404)
def list_comments(args, application_id):
    """An application's comments, oldest first (its company's staff, admins)."""
    return services.list_for_application(get_current_user(), application_id, args)


@blp.patch("/comments/<id:comment_id>", operation_id="updateComment")
@blp.auth()
@blp.arguments(CommentIn)
@blp.response(200, CommentOut)
@blp.errors(403, 404)
def edit_comment(data, comment_id):
    """Change a comment's body (its author only)."""
    return services.edit(get_current_user(), comment_id, data["body"])


@blp.delete("/comments/<id:comment_id>", operation_id="deleteComment")
@blp.auth()
@blp.response(204)
@blp.errors(403, 404)
def delete_comment(comment_id):
    """Delete a comment (its author, or an admin)."""
    services.delete(get_current_user(), comment_id)
