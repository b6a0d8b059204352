"""The codes, organisations and names the synthetic cohort draws on (DOMAIN codes, UK Core systems)."""

from dataclasses import dataclass
from typing import Literal

SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
LOINC = "http://loinc.org"
NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
CLINICAL_STATUS = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION_STATUS = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_RELATED = "http://hl7.org/fhir/StructureDefinition/condition-related"
NHS_NUMBER_VERIFICATION = (
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus"
)
NHS_NUMBER_VERIFICATION_CODES = (
    "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland"
)


@dataclass(frozen=True)
class Code:
    system: str
    code: str
    display: str

    @property
    def hl7_system(self) -> str:
        return {SNOMED: "SCT", ICD10: "I10", LOINC: "LN"}[self.system]


def sct(code: str, display: str) -> Code:
    return Code(SNOMED, code, display)


def icd(code: str, display: str) -> Code:
    return Code(ICD10, code, display)


def loinc(code: str, display: str) -> Code:
    return Code(LOINC, code, display)


# GP practices in the demo directory (ODS code -> practice name); each maps to a MESH mailbox there.
GP_PRACTICES: dict[str, str] = {
    "Y90001": "Riverside Medical Practice",
    "Y90002": "Castle Street Surgery",
    "Y90003": "Meadowbank Health Centre",
    "Y90004": "Harbour View Group Practice",
    "Y90005": "Orchard Lane Surgery",
    "Y90006": "St Anne's Family Practice",
}
# Practices present in no directory: their alerts must come out `unroutable`, never lost.
UNROUTABLE_GP_PRACTICES: dict[str, str] = {
    "Y99901": "Old Mill Surgery (closed)",
    "Y99902": "Temporary Resident Service",
}
# Treating trusts (ODS code -> name); each has a breast CNS team address in the demo directory.
TRUSTS: dict[str, str] = {
    "RGT": "Cambridge University Hospitals NHS Foundation Trust",
    "RTH": "Oxford University Hospitals NHS Foundation Trust",
    "RRV": "University College London Hospitals NHS Foundation Trust",
    "R1H": "Barts Health NHS Trust",
    "RJ1": "Guy's and St Thomas' NHS Foundation Trust",
}

Laterality = Literal["left", "right"]
LATERALITY_SITE = {
    "left": sct("80248007", "Left breast structure"),
    "right": sct("73056007", "Right breast structure"),
}
AXILLARY_NODE = sct("68171009", "Axillary lymph node structure")
BONE_MARROW_STRUCTURE = sct("14016003", "Bone marrow structure")

BREAST_PRIMARY_CODES: tuple[Code, ...] = (
    icd("C50.4", "Malignant neoplasm of upper outer quadrant of breast"),
    icd("C50.9", "Malignant neoplasm of breast, unspecified"),
    icd("C504", "Malignant neoplasm of upper outer quadrant of breast"),
    icd("C50.2", "Malignant neoplasm of upper inner quadrant of breast"),
    sct("254837009", "Malignant neoplasm of breast"),
    sct("372137005", "Primary malignant neoplasm of breast"),
)

# Distant sites, each with every code form senders use for it (COSD Metastatic Site per DOMAIN rule 5).
DISTANT_SITE_CODES: dict[str, tuple[Code, ...]] = {
    "bone": (
        sct("94222008", "Secondary malignant neoplasm of bone"),
        sct("94222008", "Metastatic malignant neoplasm to bone"),
        icd("C79.5", "Secondary malignant neoplasm of bone and bone marrow"),
        icd("C795", "Secondary malignant neoplasm of bone and bone marrow"),
        icd("C79.51", "Secondary malignant neoplasm of bone"),
    ),
    "lung": (
        sct("94391008", "Secondary malignant neoplasm of lung"),
        icd("C78.0", "Secondary malignant neoplasm of lung"),
        icd("C780", "Secondary malignant neoplasm of lung"),
        icd("C78.01", "Secondary malignant neoplasm of right lung"),
    ),
    "liver": (
        sct("94381002", "Secondary malignant neoplasm of liver"),
        sct("94381002", "Metastatic malignant neoplasm to liver"),
        icd("C78.7", "Secondary malignant neoplasm of liver and intrahepatic bile duct"),
        icd("C787", "Secondary malignant neoplasm of liver and intrahepatic bile duct"),
    ),
    "brain": (
        sct("94225005", "Secondary malignant neoplasm of brain"),
        icd("C79.3", "Secondary malignant neoplasm of brain and cerebral meninges"),
        icd("C79.31", "Secondary malignant neoplasm of brain"),
    ),
    "skin": (
        sct("94579000", "Secondary malignant neoplasm of skin"),
        icd("C79.2", "Secondary malignant neoplasm of skin"),
    ),
    "bone_marrow": (sct("94217008", "Secondary malignant neoplasm of bone marrow"),),
    "distant_lymph_nodes": (
        icd("C77.2", "Secondary malignant neoplasm of intra-abdominal lymph nodes"),
        icd("C77.4", "Secondary malignant neoplasm of inguinal and lower limb lymph nodes"),
        icd("C77.5", "Secondary malignant neoplasm of intrapelvic lymph nodes"),
    ),
    "other": (
        sct("94493005", "Secondary malignant neoplasm of pleura"),
        sct("94161006", "Secondary malignant neoplasm of adrenal gland"),
        icd("C78.2", "Secondary malignant neoplasm of pleura"),
        icd("C78.6", "Secondary malignant neoplasm of retroperitoneum and peritoneum"),
    ),
}
SECONDARY_SITE_UNSPECIFIED = sct("128462008", "Secondary malignant neoplasm of unspecified site")
DISTANT_METASTASIS_PRESENT = sct("399409002", "Distant metastasis present")
REGIONAL_NODE_METASTASIS_PRESENT = sct("399374009", "Regional lymph node metastasis present")
REGIONAL_NODE_CODES: tuple[Code, ...] = (
    icd("C77.3", "Secondary malignant neoplasm of axillary and upper limb lymph nodes"),
    icd("C773", "Secondary malignant neoplasm of axillary and upper limb lymph nodes"),
)

DCIS_CODES = (
    icd("D05.1", "Intraductal carcinoma in situ of breast"),
    icd("D05.9", "Carcinoma in situ of breast, unspecified"),
    sct("109889007", "Intraductal carcinoma in situ of breast"),
)
BENIGN_BREAST_CODES = (
    icd("D24", "Benign neoplasm of breast"),
    icd("N60.2", "Fibroadenosis of breast"),
    icd("N60.1", "Diffuse cystic mastopathy"),
)
HISTORY_OF_BREAST_CANCER = icd("Z85.3", "Personal history of malignant neoplasm of breast")
LUNG_PRIMARY_CODES = (
    sct("93880001", "Primary malignant neoplasm of lung"),
    icd("C34.1", "Malignant neoplasm of upper lobe, bronchus or lung"),
)
UNKNOWN_PRIMARY_CODES = (
    icd("C80.9", "Malignant neoplasm, primary site unspecified"),
    icd("C80", "Malignant neoplasm without specification of site"),
)

DISEASE_STATUS = loinc("97509-4", "Cancer disease status")
DIAGNOSIS_OBSERVATION = loinc("29308-4", "Diagnosis")
NOT_DETECTED_VALUES = (
    sct("260415000", "Not detected"),
    sct("281900007", "No abnormality detected"),
    sct("550991000124107", "Malignant neoplasm in full remission"),
)
WORSENED = sct("271299001", "Patient's condition worsened")
STABLE = sct("359746009", "Patient's condition stable")
TNM_M_CODES = (
    sct("399387003", "Clinical distant metastasis category"),
    sct("371497001", "Pathological distant metastasis category"),
    loinc("21907-1", "Distant metastases.clinical [Class] Cancer"),
    loinc("21901-4", "Distant metastases.pathology [Class] Cancer"),
)
M0 = sct("1229901006", "cM0 category")
M1_VALUES = (sct("1229903009", "cM1 category"), sct("1229916009", "pM1 category"))
# Not mapped by the HL7 profile: ingest must name it in the ACK, never drop the message.
UNMAPPED_OBSERVATION = loinc("8480-6", "Systolic blood pressure")

FAMILY_NAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Khan", "Ahmed", "Begum", "Okafor", "Nowak", "O'Brien", "Brontë", "Ó Súilleabháin",
    "MacLeod", "Kowalczyk", "Singh", "Chen",
)  # fmt: skip
FEMALE_GIVEN_NAMES = (
    "Olivia", "Amelia", "Margaret", "Susan", "Patricia", "Janet", "Aisha", "Fatima", "Zoë",
    "Siân", "Niamh", "Grace", "Helen", "Priya", "Mei", "Agnieszka", "Chloé", "Ruth", "Elaine",
    "Joan",
)  # fmt: skip
MALE_GIVEN_NAMES = ("David", "John", "Mohammed", "Peter", "Rhys", "Tomasz", "Kwame", "Seán")
