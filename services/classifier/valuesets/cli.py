"""`rmbc terminology build|refresh`: the SNOMED CT value sets (build.py, refresh.py)."""

import sys

USAGE = """usage: rmbc terminology build [--out DIR] [--check]
       rmbc terminology refresh --server URL [--out DIR] [--page-size N]

  build    regenerate the value sets from the committed source lists
  refresh  fetch them from a FHIR terminology server; the active files change only when the
           new ones validate"""


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    if argv[0] == "build":
        from services.classifier.valuesets.build import main as build

        return build(argv[1:])
    if argv[0] == "refresh":
        from services.classifier.valuesets.refresh import main as refresh

        return refresh(argv[1:])
    print(f"rmbc terminology: unknown command {argv[0]!r}\n\n{USAGE}", file=sys.stderr)
    return 2
