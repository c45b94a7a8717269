"""`python -m pipeline_service.conformance URL` runs the conformance kit."""

from pipeline_service.conformance.cli import main

main()
