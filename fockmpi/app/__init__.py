"""What runs a job: the pipeline (job -> model -> basis -> operator -> solver -> results), the
planner (plan) and the command line (cli)."""
