from flask_jwt_extended import get_current_user

from ats.common.etags import ETAG_HEADER, NOT_MODIFIED, etagged
from ats.common.schemas import page_of
from ats.jobs import blp, services
from ats.jobs.schemas import JobCreate, JobOut, JobQuery, JobUpdate
from ats.models import ADMIN, RECRUITER


@blp.get("", operation_id="listJobs")
@blp.auth(optional=True)
@blp.arguments(JobQuery, location="query")
@blp.response(200, page_of(JobOut))
def list_jobs(args):
    """Open jobs of every company; staff also see their company's closed jobs, admins all."""
    return services.list_jobs(get_current_user(), args)


@blp.post("", operation_id="createJob")
@blp.auth(RECRUITER, ADMIN)
@blp.arguments(JobCreate)
@blp.response(201, JobOut)
def create_job(data):
    """Post a job (recruiters for their company; admins give company_id)."""
    return services.create_job(get_current_user(), data)


@blp.get("/<id:job_id>", operation_id="getJob")
@etagged
@blp.auth(optional=True)
@blp.response(200, JobOut, headers=ETAG_HEADER)
@blp.alt_response(304, description=NOT_MODIFIED)
@blp.errors(404)
def get_job(job_id):
    """A job: open ones for anyone, closed ones for its company's staff and admins."""
    return services.get_job(get_current_user(), job_id)


@blp.patch("/<id:job_id>", operation_id="updateJob")
@blp.auth()
@blp.arguments(JobUpdate)
@blp.response(200, JobOut)
@blp.errors(403, 404)
def update_job(data, job_id):
    """Change a job (its company's recruiters, admins)."""
    return services.update_job(get_current_user(), job_id, data)


@blp.delete("/<id:job_id>", operation_id="deleteJob")
@blp.auth()
@blp.response(204)
@blp.errors(403, 404, 409)
def delete_job(job_id):
    """Delete a job that has no applications; one with applications is closed instead."""
    services.delete_job(get_current_user(), job_id)
