"""Shared pytest fixtures."""

# terraform_cli, standin_env, terraform_run: terraform against the stand-in provider (tests/standin/).
from tests.standin.fixtures import *  # noqa: F401,F403
