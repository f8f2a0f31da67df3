"""Test helpers for the job queue's PostgreSQL tables (synchronous: usable from any fixture)."""

from __future__ import annotations

from typing import Any

import psycopg

from bot.delivery.queue import SCHEMA, postgres_conninfo

TABLES = ("procrastinate_jobs", "procrastinate_periodic_defers", "procrastinate_workers")


def empty_job_queue(postgres_url: str) -> None:
    """Remove every job, worker and periodic mark from the queue's schema, if it exists."""
    with psycopg.connect(postgres_conninfo(postgres_url), autocommit=True) as conn:
        row = conn.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.procrastinate_jobs",)).fetchone()
        if row is None or row[0] is None:
            return
        conn.execute("SET lock_timeout = '10s'")
        names = ", ".join(f"{SCHEMA}.{table}" for table in TABLES)
        conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")  # type: ignore[arg-type]


def make_jobs_due(postgres_url: str, task: str) -> list[int]:
    """Move the waiting jobs of `task` to now, as if their time had come; their ids."""
    # The schema on the search path, as cxbot's own connections have it: procrastinate's
    # triggers name its tables without it.
    with psycopg.connect(
        postgres_conninfo(postgres_url), autocommit=True, options=f"-c search_path={SCHEMA}"
    ) as conn:
        rows = conn.execute(
            "UPDATE procrastinate_jobs SET scheduled_at = now() "
            "WHERE task_name = %s AND status = 'todo' RETURNING id",
            (task,),
        ).fetchall()
    return [row[0] for row in rows]


def jobs(postgres_url: str, status: str | None = None) -> list[dict[str, Any]]:
    """The queue's jobs (task, args, status), oldest first."""
    with psycopg.connect(postgres_conninfo(postgres_url)) as conn:
        cursor = conn.execute(
            f"SELECT id, task_name, args, status, scheduled_at, attempts "  # type: ignore[arg-type]
            f"FROM {SCHEMA}.procrastinate_jobs ORDER BY id"
        )
        names = [column.name for column in cursor.description or []]
        found = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return [job for job in found if status is None or job["status"] == status]
