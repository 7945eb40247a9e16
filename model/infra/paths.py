"""Where the package and the repository sit on disk, written once for every module that reads a bundled file."""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # model/
REPO_ROOT = PACKAGE_DIR.parent
BUNDLED_RAW = REPO_ROOT / "data" / "raw"  # the LAUSD tables that ship with the repository
CLAIMS_FILE = REPO_ROOT / "analysis" / "claims.toml"  # the press claims about the bundled data the report tests
