"""Privacy: a candidate's export of their own data, and erasure, which removes the person
and keeps the hiring record (routes on the auth and users blueprints, and `flask ats
retention`)."""
