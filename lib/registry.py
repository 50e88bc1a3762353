"""The one registry of data sets: files, official download addresses, sha256, formats and label maps.

Used by ``lib/datasets/`` (notebook 01). Everything a loader needs to know about a data set that is
a fact about the data set, not code, is here, so that a reader can check it against the sources.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

IOT23_BASE_URL = "https://mcfp.felk.cvut.cz/publicDatasets/IoT-23-Dataset/IndividualScenarios"


@dataclass(frozen=True)
class RemoteFile:
    """One file of a data set: where it lives inside ``DATA_DIR`` and where it comes from."""

    relpath: str  # path under <DATA_DIR>/<dataset>/
    url: str | None  # official address; None when the source needs a manual download
    sha256: str | None  # official checksum; None where none is published (we never invent one)


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    title: str
    format: str  # "zeek-conn-labeled", "cicflowmeter-csv", "argus-csv", "flow-table"
    homepage: str
    citation: str
    licence: str
    files: tuple[RemoteFile, ...] = ()
    manual_download: str = ""  # what a user has to do when the source needs a form or a login
    file_glob: str = "**/*"  # which files under <DATA_DIR>/<dataset>/ the loader reads


def _iot23(scenario: str, sha256: str) -> RemoteFile:
    return RemoteFile(
        relpath=f"{scenario}/bro/conn.log.labeled",
        url=f"{IOT23_BASE_URL}/{scenario}/bro/conn.log.labeled",
        sha256=sha256,
    )


# sha256 values of the official individual-scenario files, as recorded in shared/data/iot23/PROVENANCE.md.
IOT23_SCENARIOS: tuple[RemoteFile, ...] = (
    _iot23("CTU-Honeypot-Capture-4-1", "aebe40ea0e03b120265a5c7bc140dd9b0d3fe2fce65559e84776b7dd5360e71e"),
    _iot23("CTU-Honeypot-Capture-5-1", "f36db06e7d6ba7364e932a5b003f75835e004b320d70019e8a2f0ba8685d9262"),
    _iot23("CTU-Honeypot-Capture-7-1", "80c3fe2ae1062abf56456f52518bd670f9ec3917b7f85e152b347ac6b6faf880"),
    _iot23("CTU-IoT-Malware-Capture-3-1", "9851009bbca03e15089fa1a356dd4b5eee4a98161a51703626058a0b507f50d0"),
    _iot23("CTU-IoT-Malware-Capture-8-1", "4877ca8f0f01902fbd18d28b7d06cb3d0be082355b7f2c8862c9deef1782eb8a"),
    _iot23("CTU-IoT-Malware-Capture-20-1", "ef48ad72f65efd13d517223e61e4d877ba53a082ddb8159324b18d3f310d0711"),
    _iot23("CTU-IoT-Malware-Capture-21-1", "b63db259aead078f50fc150aa97ace4d1f69576e1245334962759d978ce437eb"),
    _iot23("CTU-IoT-Malware-Capture-34-1", "d69e49b2aae8c1bd33286936531658202dec47d989f0439bad3f8be180467a6e"),
    _iot23("CTU-IoT-Malware-Capture-42-1", "269fa1b22d9a37e159cf41b81a213a0032d21306f5d39b4c20cb0d211b04e8aa"),
    _iot23("CTU-IoT-Malware-Capture-44-1", "12cd99bcda78140dd5f31cf3d786642f150e42e0ebc3599190f35314e406f71f"),
)

DATASETS: dict[str, DatasetInfo] = {
    "iot23": DatasetInfo(
        name="iot23",
        title="Aposemat IoT-23 (Zeek conn.log.labeled, one file per scenario)",
        format="zeek-conn-labeled",
        homepage="https://www.stratosphereips.org/datasets-iot23",
        citation=(
            "S. Garcia, A. Parmisano, M. J. Erquiaga. IoT-23: A labeled dataset with malicious and benign IoT "
            "network traffic (Version 1.0.0), Zenodo, 2020. doi:10.5281/zenodo.4743746"
        ),
        licence="CC BY 4.0",
        files=IOT23_SCENARIOS,
        file_glob="**/conn.log.labeled",
    ),
    "cicids2017": DatasetInfo(
        name="cicids2017",
        title="CICIDS2017 (CICFlowMeter CSVs: MachineLearningCVE or GeneratedLabelledFlows/TrafficLabelling)",
        format="cicflowmeter-csv",
        homepage="https://www.unb.ca/cic/datasets/ids-2017.html",
        citation=(
            "I. Sharafaldin, A. H. Lashkari, A. A. Ghorbani. Toward Generating a New Intrusion Detection Dataset "
            "and Intrusion Traffic Characterization. ICISSP 2018"
        ),
        licence="CIC terms of use (cite the paper above)",
        manual_download=(
            "CICIDS2017 is behind a registration form. Download MachineLearningCSV.zip (or "
            "GeneratedLabelledFlows.zip) from https://www.unb.ca/cic/datasets/ids-2017.html, unzip it, and put "
            "the CSV files anywhere under <DATA_DIR>/cicids2017/"
        ),
        file_glob="**/*.csv",
    ),
    "botiot": DatasetInfo(
        name="botiot",
        title="BoT-IoT (UNSW Argus flow CSVs: 10-best, full 35-column, ground truth)",
        format="argus-csv",
        homepage="https://research.unsw.edu.au/projects/bot-iot-dataset",
        citation=(
            "N. Koroniotis, N. Moustafa, E. Sitnikova, B. Turnbull. Towards the development of realistic botnet "
            "dataset in the Internet of Things for network forensic analytics: Bot-IoT dataset. Future Generation "
            "Computer Systems 100 (2019) 779-796. doi:10.1016/j.future.2019.05.041"
        ),
        licence="UNSW terms of use (cite the paper above)",
        manual_download=(
            "BoT-IoT is a manual download. Get UNSW_2018_IoT_Botnet_Final_10_best_Training.csv and "
            "..._Testing.csv (or the full-dataset CSVs) from https://research.unsw.edu.au/projects/bot-iot-dataset "
            "and put them under <DATA_DIR>/botiot/"
        ),
        file_glob="**/*.[ct]sv",
    ),
}

# --- BoT-IoT -------------------------------------------------------------------------------------
# Column names of the full-dataset files UNSW_2018_IoT_Botnet_Dataset_<N>.csv, which have no header row
# (the names are published separately in UNSW_2018_IoT_Botnet_Dataset_Feature_Names.csv).
BOTIOT_FULL_COLUMNS: tuple[str, ...] = (
    "pkSeqID", "stime", "flgs", "proto", "saddr", "sport", "daddr", "dport", "pkts", "bytes", "state", "ltime",
    "seq", "dur", "mean", "stddev", "smac", "dmac", "sum", "min", "max", "soui", "doui", "sco", "dco", "spkts",
    "dpkts", "sbytes", "dbytes", "rate", "srate", "drate", "attack", "category", "subcategory",
)  # fmt: skip
BOTIOT_CATEGORICAL = ("flgs", "proto", "state", "dir")
# Argus `record` holds raw bytes; `dir` and `srcid` are ground-truth-file extras (srcid is an address).
BOTIOT_DROPPED = ("record",)

# --- CICIDS2017 ----------------------------------------------------------------------------------
# Fine label -> attack family. Families follow the grouping widely used for CICIDS2017 (and the one the
# grouped sample in shared/data already uses): every DoS tool and DDoS -> DoS, the two Patator tools ->
# BruteForce, the three web attacks -> WebAttack. Keys are normalised labels (see normalise_cic_label).
CICIDS_FAMILIES: dict[str, str] = {
    "BENIGN": "Benign",
    "DDoS": "DoS",
    "DoS Hulk": "DoS",
    "DoS GoldenEye": "DoS",
    "DoS slowloris": "DoS",
    "DoS Slowhttptest": "DoS",
    "Heartbleed": "DoS",
    "PortScan": "PortScan",
    "Bot": "Bot",
    "FTP-Patator": "BruteForce",
    "SSH-Patator": "BruteForce",
    "Web Attack - Brute Force": "WebAttack",
    "Web Attack - XSS": "WebAttack",
    "Web Attack - Sql Injection": "WebAttack",
    "Infiltration": "Infiltration",
    # already-grouped labels found in circulating samples map to themselves
    "DoS": "DoS",
    "BruteForce": "BruteForce",
    "WebAttack": "WebAttack",
}
CICIDS_LABEL_COLUMNS = ("Label", "label", "labels")
# Columns of the TrafficLabelling variant that the MachineLearningCVE variant lacks, plus the destination
# port: all identifiers of a flow, kept apart from the features. (Protocol is among them so that both
# variants share one feature set; the ML files have no protocol column.)
CICIDS_IDENTIFIERS = (
    "Flow ID",
    "Source IP",
    "Source Port",
    "Destination IP",
    "Destination Port",
    "Protocol",
    "Timestamp",
)

_DASHES = re.compile("[\u2013\u2014\u0096\ufffd]")


def normalise_cic_label(raw: str) -> str:
    """One spelling per CICIDS2017 label: the web-attack dash appears as U+FFFD, U+0096 or an en dash."""
    label = _DASHES.sub("-", str(raw).strip())
    return re.sub(r"\s+", " ", label)


# --- IoT-23 --------------------------------------------------------------------------------------
# detailed-label -> family, by prefix, first match wins. Documented in data/README.md ("Label families").
IOT23_FAMILY_RULES: tuple[tuple[str, str], ...] = (
    ("C&C", "C&C"),  # C&C, C&C-HeartBeat, C&C-FileDownload, C&C-Torii, C&C-Mirai, C&C-HeartBeat-Attack, ...
    ("PartOfAHorizontalPortScan", "PortScan"),
    ("DDoS", "DDoS"),
    ("Okiru", "Okiru"),
    ("FileDownload", "FileDownload"),
    ("Attack", "Attack"),
)


def iot23_family(label: str, detailed: str | None) -> str:
    """Family of one IoT-23 flow from its ``label`` (Benign/Malicious) and ``detailed-label``."""
    if label.lower() == "benign":
        return "Benign"
    if detailed in (None, "", "-"):
        return "Malicious"
    for prefix, family in IOT23_FAMILY_RULES:
        if detailed.startswith(prefix):
            return family
    return detailed


# --- identifiers (never features unless asked for) ----------------------------------------------
IDENTIFIER_COLUMNS: frozenset[str] = frozenset(
    {
        # Zeek
        "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "tunnel_parents", "local_orig",
        "local_resp", "scenario",
        # CICFlowMeter
        *CICIDS_IDENTIFIERS,
        # Argus / BoT-IoT (`seq` is Argus's record sequence number: it orders the capture, so it leaks time)
        "pkSeqID", "stime", "ltime", "saddr", "sport", "daddr", "dport", "smac", "dmac", "soui", "doui", "sco",
        "dco", "seq", "srcid",
        # added by the loaders
        "source_file",
    }
)  # fmt: skip
LABEL_COLUMNS = ("label", "label_detail", "is_attack")

# Identifier names of other public flow data sets, in any spelling: matched after lower-casing and removing
# everything but letters and digits ("Src IP" = "src_ip" = "srcip"). UNSW-NB15 (srcip, sport, dstip, dsport,
# Stime, Ltime), TON_IoT (src_ip, dst_port, ts), CSE-CIC-IDS2018 (Dst Port, Timestamp), IoTID20 (Flow_ID,
# Src_IP, ...), Zeek, Argus and packet-level exports.
IDENTIFIER_SPELLINGS: frozenset[str] = frozenset(
    {
        "srcip", "dstip", "sip", "dip", "srcaddr", "dstaddr", "sourceip", "destinationip", "sourceaddress",
        "destinationaddress", "ipsrc", "ipdst", "sport", "dport", "dsport", "srcport", "dstport", "sourceport",
        "destinationport", "tcpsrcport", "tcpdstport", "udpsrcport", "udpdstport", "stime", "ltime", "starttime",
        "endtime", "timestamp", "time", "date", "datetime", "frametime", "ts", "flowid", "uid", "idorigh",
        "idorigp", "idresph", "idrespp", "srcmac", "dstmac", "ethsrc", "ethdst", "pkseqid",
    }
)  # fmt: skip
# A flow's source and destination addresses, in the spellings of IDENTIFIER_SPELLINGS (normalised): SPLIT="group"
# keeps every flow of an unordered address pair (a host pair) on one side of the split. Zeek, CICFlowMeter,
# Argus, UNSW-NB15 and TON_IoT, IoTID20, packet-level exports.
ADDRESS_PAIR_SPELLINGS: tuple[tuple[str, str], ...] = (
    ("idorigh", "idresph"), ("sourceip", "destinationip"), ("saddr", "daddr"), ("srcip", "dstip"),
    ("srcaddr", "dstaddr"), ("sourceaddress", "destinationaddress"), ("sip", "dip"), ("ipsrc", "ipdst"),
)  # fmt: skip
# A conversation's key where a table has no addresses (CICFlowMeter's Flow ID: addresses, ports and protocol).
CONVERSATION_KEY_SPELLINGS: tuple[str, ...] = ("flowid",)
# A capture day in a file name (CICIDS2017 "Tuesday-WorkingHours.pcap_ISCX.csv", CSE-CIC-IDS2018
# "Wednesday-14-02-2018_TrafficForML_CICFlowMeter.csv"): SPLIT="source" holds out whole days, the files of one
# day together.
CAPTURE_DAY = re.compile(r"(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)(?:-(\d{2}-\d{2}-\d{4}))?", re.I)
# The CICIDS2017 capture week, Monday 3 to Friday 7 July 2017 (first and last day). A row from a file whose name
# names no day (an attack extract, a sample mixing days) belongs to the day of its own start time when that falls
# in this week (7/7/2017 -> Friday), so that SPLIT="source" holds out a day's rows from every file together.
CICIDS_CAPTURE_WEEK = ("2017-07-03", "2017-07-07")
# Names of columns that hold a label or an attack category: when they are not LABEL_COLUMN they leak it, so
# they are never features (UNSW-NB15 attack_cat/Label, TON_IoT type/label, IoTID20 Cat/Sub_Cat/Label, CTU
# detailed labels, BoT-IoT attack/category/subcategory).
LABEL_LIKE_NAMES: frozenset[str] = frozenset(
    {
        "label", "labels", "class", "classes", "attack", "attackcat", "attackcategory", "attacktype", "attackname",
        "category", "subcategory", "cat", "subcat", "type", "detailedlabel", "detlabel", "family", "malware",
        "malicious", "target", "traffic", "tag",
    }
)  # fmt: skip


# --- column layouts of headerless public files ----------------------------------------------------
# UNSW-NB15's four data files (UNSW-NB15_1.csv ... UNSW-NB15_4.csv) have no header row. Their 49 column names
# are published in NUSW-NB15_features.csv, which ships with the data set
# (https://research.unsw.edu.au/projects/unsw-nb15-dataset); spelt here exactly as there, including the
# stray space in column 44, "ct_src_ ltm".
UNSW_NB15_COLUMNS: tuple[str, ...] = (
    "srcip", "sport", "dstip", "dsport", "proto", "state", "dur", "sbytes", "dbytes", "sttl", "dttl", "sloss",
    "dloss", "service", "Sload", "Dload", "Spkts", "Dpkts", "swin", "dwin", "stcpb", "dtcpb", "smeansz", "dmeansz",
    "trans_depth", "res_bdy_len", "Sjit", "Djit", "Stime", "Ltime", "Sintpkt", "Dintpkt", "tcprtt", "synack",
    "ackdat", "is_sm_ips_ports", "ct_state_ttl", "ct_flw_http_mthd", "is_ftp_login", "ct_ftp_cmd", "ct_srv_src",
    "ct_srv_dst", "ct_dst_ltm", "ct_src_ ltm", "ct_src_dport_ltm", "ct_dst_sport_ltm", "ct_dst_src_ltm",
    "attack_cat", "Label",
)  # fmt: skip
# COLUMN_NAMES parameter value -> the names of a headerless file's columns, in order.
COLUMN_LAYOUTS: dict[str, tuple[str, ...]] = {"unsw-nb15": UNSW_NB15_COLUMNS}
