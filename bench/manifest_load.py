"""Load and check generated manifests of growing size; print seconds and peak memory per size.

    .venv/bin/python bench/manifest_load.py [--sizes 500,1000,3000,5000]

Each size runs in a fresh process so peak memory (ru_maxrss) belongs to that size alone.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ACTIVITIES_PER_SYSTEM = 5
SYSTEMS_PER_FILE = 250
DATASET_EVERY = 10  # a dataset for every tenth system, so references and cycles are checked too

CATEGORIES = ["user.contact.email", "user.contact.phone_number", "user.name", "user.device.ip_address"]
PURPOSES = ["essential.service", "analytics.reporting", "marketing.communications.email"]


def dataset(s: int) -> dict[str, object]:
    return {
        "system": f"sys{s}",
        "collections": {
            "users": {
                "fields": {
                    "id": {"primary_key": True, "data_type": "integer"},
                    "email": {"categories": [CATEGORIES[0]], "identity": "email"},
                }
            },
            "events": {
                "fields": {
                    "user_id": {"references": [{"to": f"db{s}.users.id", "direction": "from"}]},
                    "ip": {"categories": [CATEGORIES[3]]},
                }
            },
        },
    }


def generate(root: Path, systems: int) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "notice.yml").write_text(
        yaml.safe_dump(
            {
                "notice": {"title": "Generated", "jurisdictions": ["eu", "us-ca"]},
                "organisation": {"name": "Gen", "legal_entities": {"gen": {"name": "Gen Ltd", "country": "IE"}}},
                "retention": {"standard": {"triggers": ["relationship_end"], "grace": "P2M"}},
                "consents": {"analytics": {"kind": "setting"}},
                "recipients": {"host": {"kind": "processor", "countries": ["IE"]}},
            }
        )
    )
    for start in range(0, systems, SYSTEMS_PER_FILE):
        doc: dict[str, dict[str, object]] = {"systems": {}, "activities": {}, "datasets": {}}
        for s in range(start, min(systems, start + SYSTEMS_PER_FILE)):
            doc["systems"][f"sys{s}"] = {"name": f"System {s}", "kind": "service", "countries": ["IE"]}
            if s % DATASET_EVERY == 0:
                doc["datasets"][f"db{s}"] = dataset(s)
            for a in range(ACTIVITIES_PER_SYSTEM):
                purpose = PURPOSES[a % len(PURPOSES)]
                basis = {"basis": "consent", "consent": "analytics"} if a % 2 else {"basis": "contract"}
                doc["activities"][f"act{s}_{a}"] = {
                    "name": f"Activity {a} of system {s}",
                    "purposes": [purpose],
                    "categories": CATEGORIES[: 1 + a % len(CATEGORIES)],
                    "subjects": ["customer"],
                    "systems": [f"sys{s}"],
                    "recipients": ["host"],
                    "bases": [basis],
                    "retention": "standard",
                }
        (root / f"part{start // SYSTEMS_PER_FILE:04d}.yml").write_text(yaml.safe_dump(doc, sort_keys=False))


def worker(root: Path) -> dict[str, float]:
    from privet.manifest.lint import lint
    from privet.workspace.manifest_files import load_manifest

    started = time.perf_counter()
    loaded = load_manifest(root)
    loaded_at = time.perf_counter()
    findings = lint(loaded)
    done = time.perf_counter()
    errors = [f.render() for f in findings if f.severity.value == "error"]
    if errors:
        raise SystemExit("generated manifest has findings:\n" + "\n".join(errors[:5]))
    return {
        "load_s": loaded_at - started,
        "check_s": done - loaded_at,
        "total_s": done - started,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "activities": len(loaded.manifest.activities),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="500,1000,3000,5000")
    parser.add_argument("--worker", type=Path)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker)))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"{'systems':>8} {'activities':>10} {'MiB yaml':>9} {'load s':>7} {'check s':>8} {'total s':>8} "
        f"{'peak MiB':>9} {'us/activity':>12}"
    )
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "manifest"
            generate(root, n)
            size = sum(p.stat().st_size for p in root.iterdir()) / 2**20
            runs = []
            for _ in range(3):  # best of three fresh processes: the machine may be busy
                res = subprocess.run([sys.executable, __file__, "--worker", str(root)], capture_output=True, text=True)
                if res.returncode:
                    raise SystemExit(res.stderr or res.stdout)
                runs.append(json.loads(res.stdout))
            r = min(runs, key=lambda x: x["total_s"])
            per = r["total_s"] / r["activities"] * 1e6
            print(
                f"{n:>8} {int(r['activities']):>10} {size:>9.1f} {r['load_s']:>7.2f} {r['check_s']:>8.2f} "
                f"{r['total_s']:>8.2f} {r['peak_mib']:>9.0f} {per:>12.1f}"
            )
    print("reference (ANCHORS.md, not re-measured here): `fides evaluate` on 3,000 systems took 29.9 s")


if __name__ == "__main__":
    main()
