from privet.cli import app

app()
