FLASK_APP=wsgi
ATS_ENV=development
