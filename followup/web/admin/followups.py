from followup.web.admin import bp


@bp.get("/followups")
def followups():
    return "todo"
