"""Fides' own access and erasure on the benchmark's PostgreSQL data; run with a Python that has ethyca-fides.

    /tmp/fides-venv/bin/python bench/fides_peer.py --dataset FILE.yml --url postgresql://postgres@127.0.0.1:5432/DB
        [--runs 3] [--access-from 200] [--erase-from 300] [--app-database fides_app]

Fides is not a privet dependency: install it in a venv of its own (python3 -m venv /tmp/fides-venv &&
/tmp/fides-venv/bin/pip install ethyca-fides). This script needs PostgreSQL for Fides' application database
(--app-database, created and migrated here, dropped at the end) and Redis on 127.0.0.1:6379. Celery runs eagerly
(Fides' default when no worker is configured): a privacy request runs to completion inside the call that creates
it, so its time is Fides' whole request (graph, per-collection tasks, queries, masking, results upload to local
storage). The default access and erasure policies are used as Fides seeds them (erasure masks with `hmac`).

`--reset-sql FILE` reloads the company database from a script before each erasure (Fides' own sample has three
customers, so every erasure asks for the same one on fresh data); `--emails` names the people instead of the
benchmark's person{N}@example.com.

Prints progress on stderr and one JSON line on stdout: access and erasure best seconds and each run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

APP_KEY = "privet-bench-fides-app-key-32chr"  # Fides wants a 32-character application encryption key


def configure(app_db: str, user: str, host: str, port: int, password: str) -> None:
    """Fides reads its configuration once, from the environment, when first imported."""
    env = {
        "FIDES__DATABASE__SERVER": host,
        "FIDES__DATABASE__PORT": str(port),
        "FIDES__DATABASE__USER": user,
        "FIDES__DATABASE__PASSWORD": password,
        "FIDES__DATABASE__DB": app_db,
        "FIDES__REDIS__HOST": "127.0.0.1",
        "FIDES__REDIS__PORT": "6379",
        "FIDES__REDIS__PASSWORD": "",
        "FIDES__REDIS__SSL": "false",
        "FIDES__SECURITY__APP_ENCRYPTION_KEY": APP_KEY,
        "FIDES__EXECUTION__SUBJECT_IDENTITY_VERIFICATION_REQUIRED": "false",
        "FIDES__EXECUTION__REQUIRE_MANUAL_REQUEST_APPROVAL": "false",
        "FIDES__LOGGING__LEVEL": "ERROR",
        "FIDES__USER__ANALYTICS_OPT_OUT": "true",
        "FIDES__CLI__ANALYTICS_ID": "privet-bench",
    }
    os.environ.update(env)


def admin_dsn(host: str, port: int, user: str, password: str) -> str:
    auth = f"{user}:{password}" if password else user
    return f"postgresql://{auth}@{host}:{port}/postgres"


def recreate(dsn: str, name: str) -> None:
    import psycopg2

    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def drop(dsn: str, name: str) -> None:
    import psycopg2

    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", type=Path, required=True, help="Fides YAML; its first `dataset:` entry is used")
    p.add_argument("--url", required=True, help="the company database, postgresql://user@host:port/db")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--access-from", type=int, default=200, help="first person for access: person{N}@example.com")
    p.add_argument("--erase-from", type=int, default=300, help="first person for erasure")
    p.add_argument("--app-database", default="fides_app", help="Fides' own database; created and dropped here")
    p.add_argument("--emails", help="comma-separated: the people to ask for, instead of person{N}@example.com")
    p.add_argument("--reset-sql", type=Path, help="reload the company database from this script before each erasure")
    args = p.parse_args()
    if args.runs < 1:
        p.error("--runs must be at least 1")
    target = urlparse(args.url)
    host, port = target.hostname or "127.0.0.1", target.port or 5432
    user, password = target.username or "postgres", target.password or ""
    dbname = target.path.lstrip("/")
    if args.app_database in (dbname, "test", "postgres"):
        p.error(f"--app-database {args.app_database}: it is dropped at the end; name a database of its own")
    admin = admin_dsn(host, port, user, password)
    configure(args.app_database, user, host, port, password)
    work = Path(tempfile.mkdtemp(prefix="fides-peer-"))
    os.chdir(work)  # local storage writes access packages under the working directory
    recreate(admin, args.app_database)
    try:
        dataset = yaml.safe_load(args.dataset.read_text())["dataset"][0]
        if args.emails:
            given = [e.strip() for e in args.emails.split(",") if e.strip()]
            access_emails = erase_emails = [given[i % len(given)] for i in range(args.runs)]
        else:
            access_emails = [f"person{args.access_from + i}@example.com" for i in range(args.runs)]
            erase_emails = [f"person{args.erase_from + i}@example.com" for i in range(args.runs)]
        reset = None if args.reset_sql is None else args.reset_sql.read_text()
        result = run(dataset, host, port, user, password, dbname, access_emails, erase_emails, reset, args.url)
        print(json.dumps(result))
    finally:
        drop(admin, args.app_database)


def run(
    dataset: dict[str, Any],
    host: str,
    port: int,
    user: str,
    password: str,
    dbname: str,
    access_emails: list[str],
    erase_emails: list[str],
    reset: str | None,
    url: str,
) -> dict[str, Any]:
    started = time.perf_counter()
    from fides import __version__
    from fides.api.db.database import configure_db, seed_db
    from fides.api.db.session import get_db_session
    from fides.config import CONFIG

    configure_db(CONFIG.database.sqlalchemy_database_uri)
    session = get_db_session(CONFIG)()
    seed_db(session)
    print(f"Fides {__version__}: app database ready in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    from fides.api.models.connectionconfig import AccessLevel, ConnectionConfig, ConnectionType
    from fides.api.models.datasetconfig import DatasetConfig
    from fides.api.models.sql_models import Dataset as CtlDataset

    connection = ConnectionConfig.create(
        db=session,
        data={
            "key": "bench_postgres",
            "name": "Benchmark PostgreSQL",
            "connection_type": ConnectionType.postgres,
            "access": AccessLevel.write,
            "secrets": {"host": host, "port": port, "username": user, "password": password or None, "dbname": dbname},
        },
    )
    ctl = CtlDataset.create_from_dataset_dict(session, dataset)
    DatasetConfig.create(
        db=session,
        data={"connection_config_id": connection.id, "fides_key": dataset["fides_key"], "ctl_dataset_id": ctl.id},
    )
    access = [request(session, "default_access_policy", e) for e in access_emails]
    erasure = []
    for e in erase_emails:
        if reset is not None:
            reload(url, reset)
        erasure.append(request(session, "default_erasure_policy", e))
    session.close()
    return {
        "version": __version__,
        "collections": len(dataset["collections"]),
        "access": min(access),
        "erasure": min(erasure),
        "access_runs": access,
        "erasure_runs": erasure,
    }


def reload(url: str, script: str) -> None:
    import psycopg2

    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("DROP SCHEMA IF EXISTS backup_schema CASCADE; DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        cur.execute(script)
    conn.close()


def request(session: Any, policy: str, email: str) -> float:
    """One privacy request, created and run to its end in this process; its seconds."""
    from fides.api.models.privacy_request import ExecutionLog, PrivacyRequest
    from fides.api.schemas.privacy_request import PrivacyRequestCreate, PrivacyRequestStatus
    from fides.api.schemas.redis_cache import Identity
    from fides.config import CONFIG
    from fides.config.config_proxy import ConfigProxy
    from fides.service.messaging.messaging_service import MessagingService
    from fides.service.privacy_request.privacy_request_service import PrivacyRequestService

    service = PrivacyRequestService(
        session, ConfigProxy(session), MessagingService(session, CONFIG, ConfigProxy(session))
    )
    started = time.perf_counter()
    created = service.create_privacy_request(
        PrivacyRequestCreate(identity=Identity(email=email), policy_key=policy), authenticated=True
    )
    elapsed = time.perf_counter() - started
    session.expire_all()
    done = session.query(PrivacyRequest).filter(PrivacyRequest.id == created.id).one()
    if done.status != PrivacyRequestStatus.complete:
        raise SystemExit(f"Fides {policy} request for {email} ended {done.status}, not complete")
    logs = session.query(ExecutionLog).filter(ExecutionLog.privacy_request_id == created.id).count()
    print(f"  {policy} {email}: {elapsed:.3f} s, {done.status.value}, {logs} log entries", file=sys.stderr)
    return elapsed


if __name__ == "__main__":
    main()
