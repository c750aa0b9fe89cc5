"""Draft every blind item (tests/data/blind) with whichever drafter is importable and print JSON.

    python benchmarks/blind_predict.py [--tree DIR] [--part dev|dev2|dev3|dev4|dev5|dev6|dev7|frozen|all]

``--tree`` puts another checkout's ``scribe``/``doc_templates`` first on the import path, so the
benchmark can run today's rules and a past commit's rules side by side in one run (the peer). Only
the public drafting entry point (``scribe.extract.rule_draft``) and the draft's values and evidence
are used, so any version of the drafter can be scored the same way.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tree", type=Path, help="a checkout whose scribe/ is drafted with")
    parser.add_argument("--part", default="all", choices=("dev", "dev2", "dev3", "dev4", "dev5", "dev6", "dev7", "frozen", "all"))
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.tree:
        sys.path.insert(0, str(args.tree.resolve()))

    from scribe.errors import DocumentError
    from scribe.extract import rule_draft
    from tests import blind

    out = []
    for part in blind.PARTS if args.part == "all" else (args.part,):
        for item in blind.load_all(part):
            kinds = (("mediation-agreement", "hearing-record") if item.session_type == "mediation"
                     else ("consultation-record",))
            drafts = {}
            for kind in kinds:
                started = time.perf_counter()
                try:
                    draft = rule_draft(item.transcript, item.casefile, kind=kind)
                except DocumentError as exc:
                    drafts[kind] = {"refused": True, "error": str(exc), "values": {}, "evidence": []}
                    continue
                evidence = []
                for name, fv in draft.fields.items():
                    for member in [fv, *(fv.items or [])]:
                        for ev in member.evidence or []:
                            evidence.append({"field": name, "quote": ev.quote, "segment": ev.segment})
                drafts[kind] = {
                    "refused": False,
                    "values": draft.values(),
                    "items": {name: [{"value": m.value, "source": str(m.source)} for m in (fv.items or [])]
                              for name, fv in draft.fields.items() if fv.items},
                    "evidence": evidence,
                    "extra": {k: v for k, v in draft.to_dict().items()
                              if k not in ("fields", "session", "transcript", "created_at")},
                    "seconds": time.perf_counter() - started,
                }
            out.append({"id": item.id, "part": part, "drafts": drafts})
    json.dump(out, sys.stdout, ensure_ascii=False, default=str)


if __name__ == "__main__":
    main()
