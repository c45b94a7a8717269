"""`python -m pipeline_service` runs the command line."""

from pipeline_service.cli import main

main()
