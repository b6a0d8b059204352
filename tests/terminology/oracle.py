"""What a concept of a scoring list should mean, read from the list's own term (the expectation).

Written apart from the build's rules (services/classifier/valuesets/rules.toml) and simpler: a
second reading of the same clinical decisions (services/classifier/DECISIONS.md, "Sites"). It
says which category a concept is scored in, and leaves out what is debatable for a breast cancer
patient, as issue 27 did: a secondary named as another cancer's (its origin or a histology breast
cancer does not have), cancer of unknown primary, a tumour of the skin, blood or pigment cells at
the breast, and concepts that are not disorders (morphologies, findings, procedures).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BREAST_WORDS = ("breast", "mammary", "nipple", "areola")
SPREAD_WORDS = (
    "secondary",
    "metasta",
    "carcinomatosis",
    "tumor embolism",
    "lymphangitis",
    "krukenberg",
    "malignant meningitis",
)
MALIGNANCY_WORDS = re.compile(
    r"malignan|carcinoma|cancer|\bca\b|sarcoma|lymphoma|leuk|myeloma|melanoma|blastoma|"
    r"mesothelioma|seminoma|teratoma|glioma|astrocytoma|carcinoid|hodgkin|myelodysplastic|"
    r"plasmacytoma|burkitt|mycosis fungoides"
)
NOT_BREAST_HISTOLOGY = (
    "melanoma",
    "lymphoma",
    "leuk",
    "myeloma",
    "sarcoma",
    "squamous",
    "small cell",
    "carcinoid",
    "renal cell",
    "neuroblastoma",
    "basal cell",
    "hodgkin",
    "kaposi",
    "germ cell",
    "seminoma",
    "skin of breast",
    "skin of left breast",
    "skin of right breast",
    "extramammary",
    "implant",
)
REGIONAL_NODES = (
    "axill",
    "internal mammary",
    "supraclavicular",
    "infraclavicular",
    "pectoral",
    "paramammary",
    "intramammary",
    "parasternal",
    "scalene",
)
MIXED_NODE_GROUPS = ("head, face", "intrathoracic", "upper limb", "of neck", "head and neck")
BONES = (
    "bone of",
    "of bone",
    " bone",
    "vertebra",
    "vertebral",
    "spinal column",
    " rib",
    "sternum",
    "skull",
    "sacrum",
    "coccyx",
    "mandible",
    "maxilla",
    "jaw",
    "clavicle",
    "scapula",
    "acromion",
    "humerus",
    "radius",
    "ulna",
    "phalanx",
    "pubis",
    "ilium",
    "ischium",
    "femur",
    "tibia",
    "fibula",
    "patella",
    "talus",
    "calcaneus",
    "cuboid",
    "trapezium",
    "vomer",
)
SITE_WORDS = (
    ("lung", ("lung", "lungs", "bronchus", "lymphangitic", "lymphangitis", "pulmonary")),
    (
        "brain",
        (
            "brain",
            "cerebrum",
            "cerebellum",
            "frontal lobe",
            "parietal lobe",
            "temporal lobe",
            "occipital lobe",
            "cerebral ventricle",
        ),
    ),
    ("liver", ("liver", "intrahepatic")),
    ("skin", ("skin",)),
    ("bone", BONES),
)
UNSPECIFIED = ("unspecified", "unknown site", "disseminated", "widespread", "generalized")


@dataclass(frozen=True)
class Expectation:
    category: str  # breast_primary | secondary | other_primary | non_cancer
    scope: str | None = None  # for a secondary: local | regional | distant
    site: str | None = None


def expect(term: str, list_category: str) -> Expectation | None:
    """The expectation for one concept of a list whose compilers filed it under list_category
    ("cancer" or "non_cancer"); None when the concept is left out of the counts."""
    if list_category == "non_cancer":
        return Expectation("non_cancer")
    text = term.lower()
    if not text.endswith("(disorder)") or "history" in text or "in situ" in text:
        return None
    text = text.removesuffix("(disorder)").strip().replace("tumour", "tumor")
    if "skin and breast" in text or "excluding breast" in text:
        return None  # a grouper of several organs, or explicitly not the breast
    if "infiltration" in text:
        return None  # direct invasion or spread: SNOMED CT files these both ways
    if "local recurrence" in text and "breast" in text:
        return Expectation("secondary", "local")
    if any(word in text for word in SPREAD_WORDS):
        return _secondary(text)
    if any(word in text for word in BREAST_WORDS):
        if any(word in text for word in NOT_BREAST_HISTOLOGY) or "syndrome" in text:
            return None
        return Expectation("breast_primary")
    if "unknown primary" in text or "unknown origin" in text or "syndrome" in text:
        return None
    head = re.split(r" (associated with|due to|in|with) ", text, maxsplit=1)[0]
    if not MALIGNANCY_WORDS.search(head) or "benign" in text or "uncertain" in text:
        return None  # not a malignancy, or one only named as the cause of something else
    return Expectation("other_primary")


def _secondary(text: str) -> Expectation | None:
    named_other = text.startswith(("primary", "malignant neoplasm of", "carcinoma of"))
    origin = " from " in text or "separate metastasis" in text or "unknown" in text
    if named_other or origin or "with " in text:
        return None  # the metastasis of a named (other) cancer, or of an unknown primary
    if "metastatic carcinoma of breast" in text or "metastatic breast" in text:
        return Expectation("secondary", "distant", "unknown")
    if text.startswith("[x]") or ", secondary and" in text:
        return None  # ICD-10 chapter groupers carried over from Read codes: several sites
    if any(word in text for word in NOT_BREAST_HISTOLOGY[:-3]):
        return None
    if "marrow" in text:
        return Expectation("secondary", "distant", "bone_marrow")
    if ("lymph" in text and ("node" in text or "gland" in text)) or "nodes" in text:
        return _nodes(text)
    if re.search(r"\baxilla$", text) and "skin" not in text and "vessel" not in text:
        return Expectation("secondary", "regional", "regional_lymph_nodes")
    if "chest wall" in text or any(word in text for word in BREAST_WORDS):
        return Expectation("secondary", "local")
    for site, words in SITE_WORDS:
        pattern = r"\b(" + "|".join(re.escape(w.strip()) for w in words) + r")\b"
        if re.search(pattern, text) and "meninges" not in text:
            return Expectation("secondary", "distant", site)
    bare = re.fullmatch(
        r"(secondary|metastatic)( malignant)? (neoplasm|carcinoma|adenocarcinoma|cancer|"
        r"neoplastic disease)( nos)?|.*carcinomatosis",
        text,
    )
    if bare or any(word in text for word in UNSPECIFIED):
        return Expectation("secondary", "distant", "unknown")
    return Expectation("secondary", "distant", "other")


def _nodes(text: str) -> Expectation:
    named = text.split(" of ", 1)[-1].split(" to ", 1)[-1]
    if any(word in text for word in REGIONAL_NODES) or any(g in text for g in MIXED_NODE_GROUPS):
        return Expectation("secondary", "regional", "regional_lymph_nodes")
    unnamed = ("lymph node", "lymph nodes", "lymph gland", "lymph glands", "secondary nodes nos")
    if named.strip() in unnamed:
        return Expectation("secondary", "regional", "regional_lymph_nodes")
    return Expectation("secondary", "distant", "distant_lymph_nodes")
