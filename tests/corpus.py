"""A format corpus: small flow files we generate ourselves, in the real column layouts of public data sets.

Each ``write_*`` function writes one file (2,000-3,000 data rows) into a folder and returns a :class:`Fixture`:
the file, the runner parameters that read it, and a description. Smoke tests run notebooks 01 -> 06 on them
at tiny size; loader unit tests read them. Nothing here is committed as data: tests write the files into
``tmp_path``. Every value is drawn by us from a seeded ``numpy`` Generator (same seed, same bytes); no row is
copied from a data set. Only the layouts (column names and order, value spellings, file quirks) are the
published ones.

The rows are learnable but not trivially: every class is a mixture of a few kinds of connection whose numeric
features are drawn from overlapping log-normal distributions, and benign traffic contains kinds that look
like each attack (failed connections like scans, bulk uploads like floods, keep-alives like C&C), so a small
model reaches roughly 90-97 % and no single ordinary feature separates the classes. The leak columns named
below (label-like columns that are not ``LABEL_COLUMN``) do predict the label: the project must drop them.

Fixtures and the quirk each carries:

* ``ctu_zeek`` (:func:`write_ctu_zeek`): a Stratosphere/CTU labelled Zeek conn log, ``labeled-conn.log``, as
  the Stratosphere netflowlabeler writes it: the Zeek ASCII header (``#separator \\x09``, ``#set_separator``,
  ``#empty_field``, ``#unset_field``, ``#path``, ``#open``, ``#fields``, ``#types``) with two extra
  tab-separated fields ``label`` and ``detailedlabel`` (types ``string string``), ``-`` for unset values
  (duration and bytes of one-packet connections), a ``#close`` footer, and about a quarter ``Background``
  rows (unlabelled traffic, ignored by default). Optionally gzip-compressed. Leak: ``detailedlabel``.
* ``unsw_nb15`` (:func:`write_unsw_nb15`): a ``UNSW-NB15_1.csv``-style file: no header row (names come from
  ``NUSW-NB15_features.csv``, see ``lib.registry.UNSW_NB15_COLUMNS``), a UTF-8 byte-order mark before the
  first row, ``attack_cat`` empty on normal rows and with stray spaces on some attack names (`` Fuzzers ``,
  `` Reconnaissance ``), ``service`` ``-``, single-space cells in ``ct_flw_http_mthd``, ``is_ftp_login`` and
  ``ct_ftp_cmd``, ``Stime``/``Ltime`` in Unix seconds. Leak: ``attack_cat``.
* ``iotid20`` (:func:`write_iotid20_style`): an IoTID20-style CICFlowMeter table (underscore spelling,
  ``Flow_ID`` ... ``Idle_Mean``, then ``Label``, ``Cat``, ``Sub_Cat``) as many Kaggle re-uploads ship it:
  ``Label`` 0/1 and the identifiers ``Flow_ID``, ``Src_IP``, ``Dst_IP`` label-encoded as integers. The
  rarest sub-categories have 15-25 rows (too few for a zero-day hold-out). Leaks: ``Cat``, ``Sub_Cat``.
* ``cse_cic_ids2018`` (:func:`write_cse_cic_ids2018`): a CSE-CIC-IDS2018 "Processed Traffic Data for ML
  Algorithms" CSV with its 80 columns (``Dst Port`` ... ``Idle Min``, ``Label``), ``Timestamp`` as
  ``14/02/2018 08:31:01``, ``Infinity`` and ``NaN`` in ``Flow Byts/s``/``Flow Pkts/s`` (zero-duration
  flows), ``-1`` initial window sizes, constant bulk columns, and the header row repeated once in the middle
  of the data, as in some of the 2018 day files.
* ``ton_iot`` (:func:`write_ton_iot_network`): a TON_IoT ``Train_Test_Network.csv``-layout file (Zeek-derived
  connection, DNS, SSL and HTTP fields, then ``label``, ``type``) with ``-`` for missing values in text and
  numeric columns (``http_trans_depth``), ``T``/``F`` flags, and quoted cells (certificate subjects contain
  commas). Leak: ``type``.

``IDENTIFIERS`` and ``LEAK_COLUMNS`` name, per fixture, the columns that must never be features.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Fixture:
    """Files written by one generator, the runner parameters that read them, and what they imitate."""

    files: list[Path]
    params: dict[str, object]
    description: str


# ---------------------------------------------------------------------------------------------- helpers
def _lognormal(rng: np.random.Generator, median: float, sigma: float, n: int) -> np.ndarray:
    return median * np.exp(sigma * rng.standard_normal(n))


def _counts(rng: np.random.Generator, n: int, weights: dict[str, float]) -> dict[str, int]:
    """Split ``n`` rows over the kinds of a mixture (multinomial, so the split itself is random)."""
    p = np.array(list(weights.values()), dtype=float)
    return dict(zip(weights, rng.multinomial(n, p / p.sum()).tolist(), strict=True))


def _choice(rng: np.random.Generator, options: dict | tuple | list, n: int) -> np.ndarray:
    """``n`` draws from ``options``: a sequence (uniform) or a {value: probability} dict."""
    if isinstance(options, dict):
        values, p = list(options), np.array(list(options.values()), dtype=float)
        p = p / p.sum()
    else:
        values, p = list(options), None
    out = np.empty(n, dtype=object)
    out[:] = [values[i] for i in rng.choice(len(values), size=n, p=p)]
    return out


def _num(values: np.ndarray, decimals: int, nan: str = "NaN", inf: str = "Infinity") -> list[str]:
    """Decimal text with at most ``decimals`` places, trailing zeros trimmed ("0.5", "12", "0")."""
    out = []
    for v in np.asarray(values, dtype=float):
        if np.isnan(v):
            out.append(nan)
        elif np.isinf(v):
            out.append(inf if v > 0 else "-" + inf)
        else:
            text = f"{v:.{decimals}f}".rstrip("0").rstrip(".")
            out.append("0" if text in ("", "-0") else text)
    return out


def _ints(values: np.ndarray) -> list[str]:
    return [str(int(v)) for v in np.asarray(values)]


def _ipv4(rng: np.random.Generator, n: int, prefix: str | None = None) -> np.ndarray:
    """Random addresses, public ones (first octet 1-223, not 10/127/192) unless a /24 prefix is given."""
    if prefix is not None:
        return np.array([f"{prefix}.{h}" for h in rng.integers(2, 255, n)], dtype=object)
    first = rng.choice([o for o in range(1, 224) if o not in (10, 127, 192)], n)
    rest = rng.integers(0, 256, (n, 3))
    return np.array([f"{a}.{b}.{c}.{d}" for a, (b, c, d) in zip(first, rest, strict=True)], dtype=object)


def _shuffled(rng: np.random.Generator, frames: list[pd.DataFrame]) -> pd.DataFrame:
    df = pd.concat(frames, ignore_index=True)
    return df.iloc[rng.permutation(len(df))].reset_index(drop=True)


def _write_csv(path: Path, header: list[str] | None, rows: pd.DataFrame, prefix: str = "") -> None:
    """Comma-separated text, quoted only where a cell needs it, ``\\n`` line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows.itertuples(index=False, name=None))
    path.write_text(prefix + buffer.getvalue(), encoding="utf-8", newline="")


def _folder(folder: Path | str) -> Path:
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


# ------------------------------------------------------------------------------ 1. CTU labelled Zeek conn log
CTU_ZEEK_FIELDS = (
    "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration",
    "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history", "orig_pkts",
    "orig_ip_bytes", "resp_pkts", "resp_ip_bytes", "tunnel_parents", "label", "detailedlabel",
)  # fmt: skip
CTU_ZEEK_TYPES = (
    "time", "string", "addr", "port", "addr", "port", "enum", "string", "interval", "count", "count", "string",
    "bool", "bool", "count", "string", "count", "count", "count", "count", "set[string]", "string", "string",
)  # fmt: skip

# Zeek `history` strings per connection state (upper case: originator, lower case: responder).
_HISTORY = {
    ("tcp", "SF"): ("ShADadFf", "ShADadfF", "ShAdDaFf", "ShADafF"),
    ("tcp", "S0"): ("S",),
    ("tcp", "REJ"): ("Sr",),
    ("tcp", "RSTO"): ("ShADadR", "ShAdDaR"),
    ("tcp", "RSTR"): ("ShADadr", "ShAdDar"),
    ("tcp", "S1"): ("ShAD", "ShADad"),
    ("tcp", "S3"): ("ShADadf",),
    ("tcp", "OTH"): ("Dd", "Ad", "DadA"),
    ("udp", "SF"): ("Dd",),
    ("udp", "S0"): ("D",),
    ("udp", "SHR"): ("d",),
    ("icmp", "OTH"): ("-",),
}

# Kinds of connection: (proto, service, responder ports (0: random high port), conn_state probabilities,
# duration s, orig_bytes, resp_bytes, orig_pkts, resp_pkts), each size a (median, sigma) log-normal.
_ZEEK_KINDS: dict[str, tuple] = {
    "dns": ("udp", {"dns": 1}, (53,), {"SF": 0.88, "S0": 0.12}, (0.03, 1.0), (38, 0.25), (110, 0.5), (1, 0.1), (1, 0.1)),
    "ntp": ("udp", {"-": 1}, (123,), {"SF": 0.95, "S0": 0.05}, (0.05, 0.8), (48, 0.01), (48, 0.01), (1, 0.1), (1, 0.1)),
    "mdns": ("udp", {"-": 0.7, "dns": 0.3}, (5353, 1900, 137), {"S0": 0.9, "SF": 0.1}, (1.5, 1.5), (90, 0.6), (0, 0), (2, 0.8), (0.3, 1.0)),
    "http": ("tcp", {"http": 1}, (80, 8080), {"SF": 0.85, "RSTO": 0.08, "S1": 0.07}, (1.2, 1.3), (320, 0.6), (2600, 1.3), (6, 0.5), (6, 0.6)),
    "ssl": ("tcp", {"ssl": 0.9, "-": 0.1}, (443, 8883), {"SF": 0.8, "RSTR": 0.1, "RSTO": 0.1}, (4.0, 1.5), (1100, 0.9), (5200, 1.2), (11, 0.6), (10, 0.7)),
    "failed": ("tcp", {"-": 1}, (0, 80, 443, 23, 8080), {"S0": 0.6, "REJ": 0.3, "OTH": 0.1}, (2.0, 1.2), (0, 0), (0, 0), (1.6, 0.5), (0.5, 1.0)),
    "keepalive": ("tcp", {"-": 0.6, "ssl": 0.4}, (443, 8883, 1883), {"SF": 0.5, "S1": 0.2, "OTH": 0.3}, (120.0, 1.2), (160, 0.9), (220, 1.0), (7, 0.8), (6, 0.8)),
    "bulk": ("udp", {"-": 1}, (0,), {"SF": 0.6, "S0": 0.4}, (1.0, 1.5), (7000, 1.1), (300, 1.0), (10, 0.8), (2, 0.8)),
    "icmp": ("icmp", {"-": 1}, (0, 3, 8, 11), {"OTH": 1}, (0.5, 1.5), (64, 0.6), (64, 0.6), (2, 0.7), (1, 0.8)),
    "cnc": ("tcp", {"-": 0.85, "http": 0.15}, (6667, 23, 443, 8080, 5555), {"SF": 0.45, "S3": 0.15, "RSTR": 0.15, "OTH": 0.25}, (40.0, 1.5), (140, 0.9), (260, 1.0), (8, 0.8), (7, 0.9)),
    "scan": ("tcp", {"-": 1}, (0, 23, 2323, 22, 80, 8080, 5555, 37215, 52869), {"S0": 0.8, "REJ": 0.15, "OTH": 0.05}, (2.5, 1.0), (0, 0), (0, 0), (1.3, 0.45), (0.4, 1.0)),
    "flood_udp": ("udp", {"-": 1}, (0, 53, 80), {"S0": 0.85, "SF": 0.15}, (0.8, 2.0), (9000, 1.4), (0, 0), (12, 1.1), (0.2, 1.0)),
    "flood_tcp": ("tcp", {"-": 1}, (80, 443, 0), {"S0": 0.55, "OTH": 0.3, "REJ": 0.15}, (0.6, 2.0), (2000, 1.5), (0, 0), (9, 1.1), (0.3, 1.0)),
    "flood_icmp": ("icmp", {"-": 1}, (8,), {"OTH": 1}, (0.9, 1.8), (12000, 1.3), (0, 0), (14, 1.1), (0.2, 1.0)),
}  # fmt: skip

_CTU_CLASSES: dict[tuple[str, str], tuple[int, dict[str, float]]] = {
    # (label, detailedlabel): (rows, mixture of kinds)
    ("Benign", "-"): (
        1200,
        {"dns": 0.33, "ntp": 0.06, "http": 0.17, "ssl": 0.2, "failed": 0.09, "keepalive": 0.09, "bulk": 0.06},
    ),
    ("Background", "-"): (
        700,
        {"dns": 0.15, "mdns": 0.25, "ssl": 0.15, "http": 0.08, "failed": 0.27, "icmp": 0.1},
    ),
    ("Malicious", "C&C"): (300, {"cnc": 0.8, "failed": 0.12, "keepalive": 0.08}),
    ("Malicious", "PartOfAHorizontalPortScan"): (320, {"scan": 1.0}),
    ("Malicious", "DDoS"): (280, {"flood_udp": 0.5, "flood_tcp": 0.35, "flood_icmp": 0.15}),
}


def zeek_header_lines(opened: str, fields: Iterable[str], types: Iterable[str]) -> list[str]:
    """The '#' header block Zeek writes at the top of a conn.log opened at ``opened`` (its ``#open`` stamp)."""
    return [
        "#separator \\x09",
        "#set_separator\t,",
        "#empty_field\t(empty)",
        "#unset_field\t-",
        "#path\tconn",
        f"#open\t{opened}",
        "#fields\t" + "\t".join(fields),
        "#types\t" + "\t".join(types),
    ]


def _zeek_kind(rng: np.random.Generator, n: int, kind: str) -> pd.DataFrame:
    proto, services, ports, states, dur, obytes, rbytes, opkts, rpkts = _ZEEK_KINDS[kind]
    state = _choice(rng, states, n)
    orig_pkts = np.maximum(1, np.rint(_lognormal(rng, *opkts, n))).astype(int)
    resp_pkts = np.rint(_lognormal(rng, *rpkts, n)).astype(int) if rpkts[0] > 0 else np.zeros(n, int)
    resp_pkts = np.where(np.isin(state, ["S0"]), 0, resp_pkts)
    resp_pkts = np.where(np.isin(state, ["REJ"]), 1, resp_pkts)
    resp_pkts = np.where(np.isin(state, ["SF", "RSTO", "RSTR", "S1", "S3"]), np.maximum(resp_pkts, 1), resp_pkts)
    orig_bytes = np.rint(_lognormal(rng, *obytes, n)).astype(int) if obytes[0] > 0 else np.zeros(n, int)
    resp_bytes = np.rint(_lognormal(rng, *rbytes, n)).astype(int) if rbytes[0] > 0 else np.zeros(n, int)
    resp_bytes = np.where(resp_pkts == 0, 0, resp_bytes)
    if proto == "tcp":  # SYNs carry no payload
        orig_bytes = np.where(np.isin(state, ["S0", "REJ"]), 0, orig_bytes)
        resp_bytes = np.where(np.isin(state, ["REJ"]), 0, resp_bytes)
    duration = _lognormal(rng, *dur, n)
    header = {"tcp": 40, "udp": 28, "icmp": 28}[proto] + 4 * rng.integers(0, 4, n) * (proto == "tcp")
    orig_ip = orig_bytes + orig_pkts * header
    resp_ip = resp_bytes + resp_pkts * header
    unset = (orig_pkts == 1) & (resp_pkts == 0)  # one packet: Zeek leaves duration and bytes unset
    history = np.array([rng.choice(_HISTORY[(proto, s)]) for s in state], dtype=object)
    port = _choice(rng, ports, n)
    port = np.where(port == 0, rng.integers(1024, 65536, n), port)
    return pd.DataFrame(
        {
            "id.resp_p": _ints(port),
            "proto": proto,
            "service": _choice(rng, services, n),
            "duration": np.where(unset, "-", np.array([f"{d:.6f}" for d in duration], dtype=object)),
            "orig_bytes": np.where(unset, "-", np.array(_ints(orig_bytes), dtype=object)),
            "resp_bytes": np.where(unset, "-", np.array(_ints(resp_bytes), dtype=object)),
            "conn_state": state,
            "local_orig": "-",
            "local_resp": "-",
            "missed_bytes": np.where(rng.random(n) < 0.01, rng.integers(1, 3000, n), 0).astype(str),
            "history": history,
            "orig_pkts": _ints(orig_pkts),
            "orig_ip_bytes": _ints(orig_ip),
            "resp_pkts": _ints(resp_pkts),
            "resp_ip_bytes": _ints(resp_ip),
            "tunnel_parents": np.where(rng.random(n) < 0.05, "(empty)", "-"),
        }
    )


def _zeek_uid(rng: np.random.Generator) -> str:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    return "C" + "".join(alphabet[i] for i in rng.integers(0, len(alphabet), 17))


def write_ctu_zeek(folder: Path | str, seed: int = 0, gz: bool = False) -> Fixture:
    """``labeled-conn.log`` (or ``labeled-conn.log.gz``): 2,800 flows, a quarter of them Background."""
    rng = np.random.default_rng(seed)
    frames = []
    for (label, detailed), (n, mixture) in _CTU_CLASSES.items():
        for kind, k in _counts(rng, n, mixture).items():
            frame = _zeek_kind(rng, k, kind)
            frame["label"], frame["detailedlabel"] = label, detailed
            frames.append(frame)
    df = _shuffled(rng, frames)
    n = len(df)
    start = 1545403816.0  # 2018-12-21, UTC
    ts = start + np.cumsum(rng.exponential(1.3, n))
    device = "192.168.1.132"  # the IoT device under test sends benign and malicious flows alike
    background = df["label"] == "Background"
    dns = df["id.resp_p"] == "53"
    df["ts"] = [f"{t:.6f}" for t in ts]
    df["uid"] = [_zeek_uid(rng) for _ in range(n)]
    df["id.orig_h"] = np.where(background, _ipv4(rng, n, "192.168.1"), device)
    df["id.orig_p"] = _ints(np.where(df["id.resp_p"] == "123", 123, rng.integers(1024, 65536, n)))
    df["id.resp_h"] = np.where(dns, _choice(rng, ("192.168.1.1", "8.8.8.8"), n), _ipv4(rng, n))
    df = df[list(CTU_ZEEK_FIELDS)]

    def stamp(t: float) -> str:
        return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%d-%H-%M-%S")

    lines = [
        *zeek_header_lines(stamp(start), CTU_ZEEK_FIELDS, CTU_ZEEK_TYPES),
        *("\t".join(row) for row in df.itertuples(index=False, name=None)),
        f"#close\t{stamp(float(ts[-1]) + 1)}",
    ]
    text = "\n".join(lines) + "\n"
    folder = _folder(folder)
    if gz:
        path = folder / "labeled-conn.log.gz"
        with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as packed:
            packed.write(text.encode("utf-8"))
    else:
        path = folder / "labeled-conn.log"
        path.write_text(text, encoding="utf-8", newline="")
    return Fixture(
        files=[path],
        params={"DATASET": "zeek", "DATA_FILES": str(path)},
        description=(
            f"CTU/Stratosphere labelled Zeek conn log ({n} flows: Benign, Background, Malicious C&C, "
            "PartOfAHorizontalPortScan, DDoS); tab-separated label/detailedlabel, '-' unset values, #close footer"
            + (", gzip-compressed" if gz else "")
        ),
    )


# ----------------------------------------------------------------------------------------------- 2. UNSW-NB15
# The 49 names of NUSW-NB15_features.csv, in order and spelt as there (note "ct_src_ ltm").
UNSW_NB15_COLUMNS = (
    "srcip", "sport", "dstip", "dsport", "proto", "state", "dur", "sbytes", "dbytes", "sttl", "dttl", "sloss",
    "dloss", "service", "Sload", "Dload", "Spkts", "Dpkts", "swin", "dwin", "stcpb", "dtcpb", "smeansz", "dmeansz",
    "trans_depth", "res_bdy_len", "Sjit", "Djit", "Stime", "Ltime", "Sintpkt", "Dintpkt", "tcprtt", "synack",
    "ackdat", "is_sm_ips_ports", "ct_state_ttl", "ct_flw_http_mthd", "is_ftp_login", "ct_ftp_cmd", "ct_srv_src",
    "ct_srv_dst", "ct_dst_ltm", "ct_src_ ltm", "ct_src_dport_ltm", "ct_dst_sport_ltm", "ct_dst_src_ltm",
    "attack_cat", "Label",
)  # fmt: skip

_UNSW_PORTS = {"http": 80, "ftp": 21, "ftp-data": 20, "smtp": 25, "ssh": 22, "dns": 53, "pop3": 110}

# Kinds: proto probabilities, state probabilities, service probabilities, sttl probabilities, dur s,
# Spkts, Dpkts, smeansz, dmeansz (median, sigma), scale of the ct_* connection counts.
_UNSW_KINDS: dict[str, tuple] = {
    "normal_tcp": ({"tcp": 1}, {"FIN": 0.85, "CON": 0.1, "INT": 0.05}, {"-": 0.45, "http": 0.15, "ftp": 0.08, "ftp-data": 0.12, "smtp": 0.1, "ssh": 0.1}, {31: 0.9, 62: 0.06, 254: 0.04}, (0.8, 1.5), (14, 0.9), (16, 1.0), (70, 0.5), (500, 0.9), 4),
    "normal_udp": ({"udp": 1}, {"CON": 0.75, "INT": 0.25}, {"dns": 0.85, "-": 0.15}, {31: 0.92, 62: 0.04, 254: 0.04}, (0.001, 1.0), (2, 0.2), (2, 0.2), (66, 0.15), (90, 0.3), 6),
    "generic": ({"udp": 0.9, "tcp": 0.1}, {"INT": 0.85, "CON": 0.15}, {"dns": 0.8, "-": 0.2}, {254: 0.86, 62: 0.08, 31: 0.06}, (0.00001, 1.5), (2, 0.2), (2, 0.2), (57, 0.15), (70, 0.3), 14),
    "exploits": ({"tcp": 1}, {"FIN": 0.8, "CON": 0.1, "INT": 0.1}, {"-": 0.4, "http": 0.3, "ftp": 0.1, "smtp": 0.1, "pop3": 0.1}, {254: 0.8, 62: 0.15, 31: 0.05}, (0.6, 1.5), (12, 0.8), (10, 0.9), (180, 0.7), (120, 1.2), 3),
    "fuzzers": ({"tcp": 0.8, "udp": 0.2}, {"FIN": 0.5, "INT": 0.5}, {"-": 0.8, "http": 0.2}, {254: 0.75, 62: 0.2, 31: 0.05}, (0.9, 1.5), (10, 0.8), (6, 1.0), (400, 0.9), (60, 0.6), 3),
    "recon": ({"tcp": 0.7, "udp": 0.3}, {"INT": 0.45, "FIN": 0.4, "REQ": 0.15}, {"-": 0.9, "dns": 0.1}, {254: 0.85, 62: 0.1, 31: 0.05}, (0.01, 2.0), (3, 0.5), (1, 0.8), (100, 0.5), (60, 0.5), 5),
    "dos": ({"tcp": 0.7, "udp": 0.3}, {"FIN": 0.6, "INT": 0.4}, {"-": 0.6, "http": 0.4}, {254: 0.8, 62: 0.2}, (0.5, 1.8), (20, 1.0), (5, 1.2), (600, 0.7), (100, 0.9), 4),
}  # fmt: skip

# attack_cat spellings (with the real files' stray spaces) -> (rows, kinds); "" is normal traffic.
_UNSW_CLASSES: dict[str, tuple[int, dict[str, float], dict[str, float]]] = {
    "": (1700, {"normal_tcp": 0.55, "normal_udp": 0.45}, {"": 1}),
    "Generic": (200, {"generic": 1}, {"Generic": 1}),
    "Exploits": (180, {"exploits": 0.9, "normal_tcp": 0.1}, {"Exploits": 1}),
    "Fuzzers": (120, {"fuzzers": 1}, {" Fuzzers ": 0.6, " Fuzzers": 0.4}),
    "Reconnaissance": (100, {"recon": 1}, {"Reconnaissance": 0.5, " Reconnaissance ": 0.5}),
    "DoS": (80, {"dos": 1}, {"DoS": 1}),
}


def _unsw_kind(rng: np.random.Generator, n: int, kind: str) -> dict[str, np.ndarray]:
    protos, states, services, sttls, dur, spk, dpk, smean, dmean, ct_scale = _UNSW_KINDS[kind]
    proto = _choice(rng, protos, n)
    state = _choice(rng, states, n)
    service = _choice(rng, services, n)
    tcp = proto == "tcp"
    sttl = _choice(rng, sttls, n).astype(int)
    one_way = (state == "INT") | (state == "REQ")
    dttl = np.where(one_way, 0, np.where(sttl == 31, 29, 252))
    Spkts = np.maximum(1, np.rint(_lognormal(rng, *spk, n))).astype(int)
    Dpkts = np.where(one_way, 0, np.maximum(1, np.rint(_lognormal(rng, *dpk, n)))).astype(int)
    smeansz = np.maximum(28, np.rint(_lognormal(rng, *smean, n))).astype(int)
    dmeansz = np.where(Dpkts > 0, np.maximum(28, np.rint(_lognormal(rng, *dmean, n))), 0).astype(int)
    d = _lognormal(rng, *dur, n)
    synack = np.where(tcp & ~one_way, _lognormal(rng, 0.04, 1.0, n), 0.0)
    ackdat = np.where(tcp & ~one_way, _lognormal(rng, 0.03, 1.0, n), 0.0)
    http = service == "http"
    ftp = service == "ftp"

    def ct(scale: float) -> np.ndarray:
        return 1 + rng.poisson(scale * _lognormal(rng, 1.0, 0.5, n))

    return {
        "proto": proto,
        "state": state,
        "service": service,
        "dur": d,
        "Spkts": Spkts,
        "Dpkts": Dpkts,
        "sbytes": Spkts * smeansz,
        "dbytes": Dpkts * dmeansz,
        "smeansz": smeansz,
        "dmeansz": dmeansz,
        "sttl": sttl,
        "dttl": dttl,
        "sloss": np.where(tcp, rng.binomial(Spkts, 0.03), 0),
        "dloss": np.where(tcp, rng.binomial(Dpkts, 0.03), 0),
        "swin": np.where(tcp & ~one_way, 255, 0),
        "dwin": np.where(tcp & ~one_way, 255, 0),
        "stcpb": np.where(tcp, rng.integers(1, 2**32, n), 0),
        "dtcpb": np.where(tcp & ~one_way, rng.integers(1, 2**32, n), 0),
        "trans_depth": np.where(http, rng.integers(1, 3, n), 0),
        "res_bdy_len": np.where(http & (rng.random(n) < 0.7), np.rint(_lognormal(rng, 1500, 1.2, n)), 0).astype(int),
        "Sjit": np.where(Spkts > 2, _lognormal(rng, 25, 1.8, n), 0.0),
        "Djit": np.where(Dpkts > 2, _lognormal(rng, 20, 1.8, n), 0.0),
        "Sintpkt": np.where(Spkts > 1, d * 1000 / np.maximum(Spkts - 1, 1), 0.0),
        "Dintpkt": np.where(Dpkts > 1, d * 1000 / np.maximum(Dpkts - 1, 1), 0.0),
        "synack": synack,
        "ackdat": ackdat,
        "ct_flw_http_mthd": np.where(http, rng.integers(1, 5, n), 0),
        "is_ftp_login": np.where(ftp & (rng.random(n) < 0.6), 1, 0),
        "ct_ftp_cmd": np.where(ftp, rng.integers(0, 4, n), 0),
        "ct_srv_src": ct(ct_scale),
        "ct_srv_dst": ct(ct_scale),
        "ct_dst_ltm": ct(ct_scale / 2),
        "ct_src_ ltm": ct(ct_scale / 2),
        "ct_src_dport_ltm": ct(ct_scale / 3),
        "ct_dst_sport_ltm": ct(ct_scale / 4),
        "ct_dst_src_ltm": ct(ct_scale / 2),
    }


def write_unsw_nb15(folder: Path | str, seed: int = 0) -> Fixture:
    """``UNSW-NB15_1.csv``: 2,380 headerless rows after a byte-order mark; Label 0/1, attack_cat a leak."""
    rng = np.random.default_rng(seed)
    frames = []
    for name, (n, mixture, spellings) in _UNSW_CLASSES.items():
        for kind, k in _counts(rng, n, mixture).items():
            frame = pd.DataFrame(_unsw_kind(rng, k, kind))
            frame["attack_cat"] = _choice(rng, spellings, k)
            frame["Label"] = int(name != "")
            frames.append(frame)
    df = _shuffled(rng, frames)
    n = len(df)
    attack = df["Label"].to_numpy() == 1
    stime = 1421927414 + np.cumsum(rng.integers(0, 3, n))
    port = np.array([_UNSW_PORTS.get(s, 0) for s in df["service"]])
    port = np.where(port == 0, _choice(rng, (111, 5190, 6881, 1723, 0, 0, 0), n), port)
    port = np.where(port == 0, rng.integers(1024, 65536, n), port)
    dur = df["dur"].to_numpy()
    out = pd.DataFrame(
        {
            "srcip": np.where(attack, _ipv4(rng, n, "175.45.176"), _ipv4(rng, n, "59.166.0")),
            "sport": _ints(rng.integers(1024, 65536, n)),
            "dstip": _ipv4(rng, n, "149.171.126"),
            "dsport": _ints(port),
            "proto": df["proto"],
            "state": df["state"],
            "dur": [f"{d:.6f}" for d in dur],
        }
    )
    for column in ("sbytes", "dbytes", "sttl", "dttl", "sloss", "dloss"):
        out[column] = _ints(df[column])
    out["service"] = df["service"]
    out["Sload"] = _num(df["sbytes"] * 8 / dur, 4)
    out["Dload"] = _num(df["dbytes"] * 8 / dur, 4)
    for column in ("Spkts", "Dpkts", "swin", "dwin", "stcpb", "dtcpb", "smeansz", "dmeansz"):
        out[column] = _ints(df[column])
    out["trans_depth"] = _ints(df["trans_depth"])
    out["res_bdy_len"] = _ints(df["res_bdy_len"])
    out["Sjit"] = _num(df["Sjit"], 6)
    out["Djit"] = _num(df["Djit"], 6)
    out["Stime"] = _ints(stime)
    out["Ltime"] = _ints(stime + np.floor(dur).astype(int))
    out["Sintpkt"] = _num(df["Sintpkt"], 6)
    out["Dintpkt"] = _num(df["Dintpkt"], 6)
    out["tcprtt"] = _num(df["synack"] + df["ackdat"], 6)
    out["synack"] = _num(df["synack"], 6)
    out["ackdat"] = _num(df["ackdat"], 6)
    out["is_sm_ips_ports"] = np.where(rng.random(n) < 0.004, "1", "0")
    ttl = df["sttl"].to_numpy()
    state = df["state"].to_numpy()
    ct_state_ttl = np.select(
        [ttl == 31, (ttl == 254) & (state == "INT"), ttl == 254, state == "REQ"], [0, 2, 1, 3], default=4
    )
    out["ct_state_ttl"] = _ints(ct_state_ttl)
    blank = rng.random(n) < 0.35  # the real files leave these three counters as a single space on many rows
    for column in ("ct_flw_http_mthd", "is_ftp_login", "ct_ftp_cmd"):
        out[column] = np.where(blank, " ", np.array(_ints(df[column]), dtype=object))
    for column in ("ct_srv_src", "ct_srv_dst", "ct_dst_ltm", "ct_src_ ltm"):
        out[column] = _ints(df[column])
    for column in ("ct_src_dport_ltm", "ct_dst_sport_ltm", "ct_dst_src_ltm"):
        out[column] = _ints(df[column])
    out["attack_cat"] = df["attack_cat"]
    out["Label"] = _ints(df["Label"])
    out = out[list(UNSW_NB15_COLUMNS)]
    path = _folder(folder) / "UNSW-NB15_1.csv"
    _write_csv(path, None, out, prefix="\ufeff")
    return Fixture(
        files=[path],
        params={
            "DATASET": "csv",
            "DATA_FILES": str(path),
            "COLUMN_NAMES": "unsw-nb15",
            "LABEL_COLUMN": "Label",
            "BENIGN_LABELS": "0",
        },
        description=(
            f"UNSW-NB15_1.csv-style ({n} rows, no header, UTF-8 BOM): Label 0/1, attack_cat (a leak) empty on "
            "normal rows and with stray spaces; ' ' cells in ct_flw_http_mthd/is_ftp_login/ct_ftp_cmd"
        ),
    )


# -------------------------------------------------------------------- CICFlowMeter flows (IoTID20, IDS2018)
CSE_CIC_IDS2018_COLUMNS = (
    "Dst Port", "Protocol", "Timestamp", "Flow Duration", "Tot Fwd Pkts", "Tot Bwd Pkts", "TotLen Fwd Pkts",
    "TotLen Bwd Pkts", "Fwd Pkt Len Max", "Fwd Pkt Len Min", "Fwd Pkt Len Mean", "Fwd Pkt Len Std",
    "Bwd Pkt Len Max", "Bwd Pkt Len Min", "Bwd Pkt Len Mean", "Bwd Pkt Len Std", "Flow Byts/s", "Flow Pkts/s",
    "Flow IAT Mean", "Flow IAT Std", "Flow IAT Max", "Flow IAT Min", "Fwd IAT Tot", "Fwd IAT Mean", "Fwd IAT Std",
    "Fwd IAT Max", "Fwd IAT Min", "Bwd IAT Tot", "Bwd IAT Mean", "Bwd IAT Std", "Bwd IAT Max", "Bwd IAT Min",
    "Fwd PSH Flags", "Bwd PSH Flags", "Fwd URG Flags", "Bwd URG Flags", "Fwd Header Len", "Bwd Header Len",
    "Fwd Pkts/s", "Bwd Pkts/s", "Pkt Len Min", "Pkt Len Max", "Pkt Len Mean", "Pkt Len Std", "Pkt Len Var",
    "FIN Flag Cnt", "SYN Flag Cnt", "RST Flag Cnt", "PSH Flag Cnt", "ACK Flag Cnt", "URG Flag Cnt",
    "CWE Flag Count", "ECE Flag Cnt", "Down/Up Ratio", "Pkt Size Avg", "Fwd Seg Size Avg", "Bwd Seg Size Avg",
    "Fwd Byts/b Avg", "Fwd Pkts/b Avg", "Fwd Blk Rate Avg", "Bwd Byts/b Avg", "Bwd Pkts/b Avg",
    "Bwd Blk Rate Avg", "Subflow Fwd Pkts", "Subflow Fwd Byts", "Subflow Bwd Pkts", "Subflow Bwd Byts",
    "Init Fwd Win Byts", "Init Bwd Win Byts", "Fwd Act Data Pkts", "Fwd Seg Size Min", "Active Mean",
    "Active Std", "Active Max", "Active Min", "Idle Mean", "Idle Std", "Idle Max", "Idle Min", "Label",
)  # fmt: skip

# A flow kind: protocol, destination ports (0: random high port), duration in microseconds, forward and
# backward packets, forward and backward payload sizes (median, sigma), probability of no backward packet,
# probability of a one-packet (zero-duration) flow, SYN probability, initial window sizes.
_CIC_KINDS: dict[str, dict] = {
    "web": dict(proto=6, ports=(443, 80), dur=(2e6, 1.6), fwd=(8, 0.8), bwd=(9, 0.9), flen=(90, 0.8), blen=(600, 0.8), p_nobwd=0.03, p_single=0.02, syn=0.6, win=(8192, 65535, 29200, 64240)),
    "dns": dict(proto=17, ports=(53,), dur=(3e4, 1.0), fwd=(1, 0.1), bwd=(1, 0.1), flen=(38, 0.25), blen=(120, 0.5), p_nobwd=0.05, p_single=0.0, syn=0.0, win=(-1,)),
    "smb": dict(proto=6, ports=(445, 3389, 135), dur=(8e6, 1.5), fwd=(14, 0.9), bwd=(12, 0.9), flen=(160, 0.8), blen=(220, 0.9), p_nobwd=0.02, p_single=0.0, syn=0.7, win=(8192, 64240)),
    "zero": dict(proto=0, ports=(0,), dur=(1.1e8, 0.05), fwd=(3, 0.2), bwd=(0, 0), flen=(0, 0), blen=(0, 0), p_nobwd=1.0, p_single=0.0, syn=0.0, win=(-1,)),
    "ftp_ssh": dict(proto=6, ports=(21, 22), dur=(5e6, 1.4), fwd=(16, 0.7), bwd=(14, 0.7), flen=(50, 0.5), blen=(90, 0.6), p_nobwd=0.02, p_single=0.0, syn=0.9, win=(29200, 26883, 65535)),
    "rst": dict(proto=6, ports=(443, 80, 0), dur=(500, 1.5), fwd=(1.5, 0.4), bwd=(0.5, 0.8), flen=(0, 0), blen=(0, 0), p_nobwd=0.5, p_single=0.45, syn=0.3, win=(8192, 29200)),
    "ftp_brute": dict(proto=6, ports=(21,), dur=(30, 1.6), fwd=(1, 0.3), bwd=(1, 0.4), flen=(0, 0), blen=(0, 0), p_nobwd=0.4, p_single=0.25, syn=0.0, win=(26883, 29200)),
    "ssh_brute": dict(proto=6, ports=(22,), dur=(5e6, 0.6), fwd=(22, 0.25), bwd=(21, 0.25), flen=(60, 0.35), blen=(80, 0.35), p_nobwd=0.0, p_single=0.0, syn=1.0, win=(26883, 29200)),
    "hulk": dict(proto=6, ports=(80,), dur=(9e3, 1.6), fwd=(3, 0.4), bwd=(3, 0.6), flen=(130, 0.6), blen=(160, 1.2), p_nobwd=0.2, p_single=0.05, syn=0.5, win=(225, 8192, 29200)),
    "goldeneye": dict(proto=6, ports=(80,), dur=(3e6, 1.0), fwd=(5, 0.4), bwd=(4, 0.4), flen=(75, 0.5), blen=(250, 0.9), p_nobwd=0.05, p_single=0.0, syn=0.9, win=(29200, 26883)),
    # IoTID20: camera and hub traffic, Mirai, scans, ARP-spoofed relays
    "rtsp": dict(proto=6, ports=(554, 8000, 80), dur=(6e5, 1.5), fwd=(4, 0.8), bwd=(5, 0.9), flen=(120, 0.9), blen=(700, 0.9), p_nobwd=0.05, p_single=0.0, syn=0.3, win=(14600, 29200, 65535)),
    "udp_flood": dict(proto=17, ports=(0,), dur=(300, 1.6), fwd=(2, 0.4), bwd=(0, 0), flen=(520, 0.7), blen=(0, 0), p_nobwd=1.0, p_single=0.0, syn=0.0, win=(-1,)),
    "telnet_brute": dict(proto=6, ports=(23, 2323), dur=(2e5, 1.4), fwd=(4, 0.4), bwd=(3, 0.5), flen=(20, 0.8), blen=(40, 0.8), p_nobwd=0.1, p_single=0.0, syn=1.0, win=(14600, 5840)),
    "syn_flood": dict(proto=6, ports=(554, 80), dur=(80, 1.5), fwd=(1.6, 0.4), bwd=(0.6, 0.8), flen=(0, 0), blen=(0, 0), p_nobwd=0.5, p_single=0.0, syn=1.0, win=(512, 1024)),
    "http_flood": dict(proto=6, ports=(80,), dur=(4e4, 1.5), fwd=(4, 0.4), bwd=(3, 0.5), flen=(150, 0.6), blen=(300, 0.9), p_nobwd=0.1, p_single=0.0, syn=1.0, win=(14600, 29200)),
    "ack_flood": dict(proto=6, ports=(0,), dur=(150, 1.5), fwd=(2, 0.4), bwd=(0.5, 0.9), flen=(400, 0.8), blen=(0, 0), p_nobwd=0.6, p_single=0.0, syn=0.0, win=(32, 64)),
    "port_scan": dict(proto=6, ports=(0, 22, 23, 80, 443, 8080), dur=(120, 1.5), fwd=(1.5, 0.4), bwd=(1, 0.5), flen=(0, 0), blen=(0, 0), p_nobwd=0.3, p_single=0.0, syn=1.0, win=(1024, 2048, 4096)),
}  # fmt: skip


def _cic_flows(rng: np.random.Generator, n: int, kind: str) -> dict[str, np.ndarray]:
    """CICFlowMeter features of ``n`` flows of one kind, named as in CSE-CIC-IDS2018 (bar ``Label``)."""
    k = _CIC_KINDS[kind]
    proto = np.full(n, k["proto"])
    port = _choice(rng, k["ports"], n).astype(int)
    port = np.where(port == 0, rng.integers(1024, 65536, n), port) if k["proto"] else port
    single = rng.random(n) < k["p_single"]
    fwd = np.maximum(1, np.rint(_lognormal(rng, *k["fwd"], n))).astype(int)
    bwd = np.rint(_lognormal(rng, *k["bwd"], n)).astype(int) if k["bwd"][0] > 0 else np.zeros(n, int)
    bwd = np.where((rng.random(n) < k["p_nobwd"]) | single, 0, bwd)
    fwd = np.where(single, 1, fwd)
    npk = fwd + bwd
    dur = np.where(single | (npk == 1), 0, np.maximum(1, np.rint(_lognormal(rng, *k["dur"], n)))).astype(np.int64)

    def lengths(count: np.ndarray, size: tuple[float, float]) -> tuple[np.ndarray, ...]:
        mean = np.where(count > 0, _lognormal(rng, *size, n), 0.0) if size[0] > 0 else np.zeros(n)
        spread = np.where(count > 1, rng.uniform(0.2, 1.5, n), 0.0)
        top = np.rint(mean * (1 + spread))
        bottom = np.rint(np.maximum(0, mean * (1 - spread * rng.uniform(0.3, 1.0, n))))
        total = np.rint(count * mean)
        mean = np.where(count > 0, total / np.maximum(count, 1), 0.0)
        std = np.where(count > 1, (top - bottom) / 2.5, 0.0)
        return total, top, bottom, mean, std

    ftot, fmax, fmin, fmean, fstd = lengths(fwd, k["flen"])
    btot, bmax, bmin, bmean, bstd = lengths(bwd, k["blen"])
    seconds = dur / 1e6
    with np.errstate(divide="ignore", invalid="ignore"):
        flow_byts = (ftot + btot) / seconds  # inf or NaN when the duration is 0, as CICFlowMeter writes
        flow_pkts = npk / seconds
    iat_mean = np.where(npk > 1, dur / np.maximum(npk - 1, 1), 0.0)
    iat_max = np.minimum(dur, iat_mean * rng.uniform(1.0, 3.0, n))
    iat_min = iat_mean * rng.uniform(0.0, 0.6, n)
    iat_std = np.where(npk > 2, (iat_max - iat_min) / 2.5, 0.0)

    def direction_iat(count: np.ndarray) -> tuple[np.ndarray, ...]:
        total = np.where(count > 1, np.rint(dur * rng.uniform(0.5, 1.0, n)), 0.0)
        mean = np.where(count > 1, total / np.maximum(count - 1, 1), 0.0)
        top = np.minimum(total, mean * rng.uniform(1.0, 2.5, n))
        bottom = mean * rng.uniform(0.0, 0.7, n)
        return total, mean, np.where(count > 2, (top - bottom) / 2.5, 0.0), top, bottom

    tcp = proto == 6
    header = np.where(tcp, _choice(rng, (20, 32), n).astype(int), np.where(proto == 17, 8, 0))
    syn = np.where(tcp, (rng.random(n) < k["syn"]).astype(int), 0)
    all_len_max = np.maximum(fmax, bmax)
    all_len_min = np.where(bwd > 0, np.minimum(fmin, bmin), fmin)
    all_mean = (ftot + btot) / npk
    all_std = np.where(npk > 1, (all_len_max - all_len_min) / 2.5, 0.0)
    long_flow = dur > 5e6
    idle = np.where(long_flow, dur * rng.uniform(0.5, 0.9, n), 0.0)
    active = np.where(long_flow, _lognormal(rng, 3e4, 1.5, n), 0.0)
    window = _choice(rng, k["win"], n).astype(int)
    out: dict[str, np.ndarray] = {
        "Dst Port": port,
        "Protocol": proto,
        "Flow Duration": dur,
        "Tot Fwd Pkts": fwd,
        "Tot Bwd Pkts": bwd,
        "TotLen Fwd Pkts": ftot,
        "TotLen Bwd Pkts": btot,
        "Fwd Pkt Len Max": fmax,
        "Fwd Pkt Len Min": fmin,
        "Fwd Pkt Len Mean": fmean,
        "Fwd Pkt Len Std": fstd,
        "Bwd Pkt Len Max": bmax,
        "Bwd Pkt Len Min": bmin,
        "Bwd Pkt Len Mean": bmean,
        "Bwd Pkt Len Std": bstd,
        "Flow Byts/s": flow_byts,
        "Flow Pkts/s": flow_pkts,
        "Flow IAT Mean": iat_mean,
        "Flow IAT Std": iat_std,
        "Flow IAT Max": np.rint(iat_max),
        "Flow IAT Min": np.rint(iat_min),
    }
    for side, count in (("Fwd", fwd), ("Bwd", bwd)):
        total, mean, std, top, bottom = direction_iat(count)
        out |= {
            f"{side} IAT Tot": total,
            f"{side} IAT Mean": mean,
            f"{side} IAT Std": std,
            f"{side} IAT Max": np.rint(top),
            f"{side} IAT Min": np.rint(bottom),
        }
    with np.errstate(divide="ignore", invalid="ignore"):
        fwd_rate = np.where(dur > 0, fwd / seconds, 0.0)
        bwd_rate = np.where(dur > 0, bwd / seconds, 0.0)
    zeros = np.zeros(n, int)
    out |= {
        "Fwd PSH Flags": np.where(tcp & (fmean > 0), (rng.random(n) < 0.3).astype(int), 0),
        "Bwd PSH Flags": zeros,
        "Fwd URG Flags": zeros,
        "Bwd URG Flags": zeros,
        "Fwd Header Len": fwd * header,
        "Bwd Header Len": bwd * header,
        "Fwd Pkts/s": fwd_rate,
        "Bwd Pkts/s": bwd_rate,
        "Pkt Len Min": all_len_min,
        "Pkt Len Max": all_len_max,
        "Pkt Len Mean": all_mean,
        "Pkt Len Std": all_std,
        "Pkt Len Var": all_std**2,
        "FIN Flag Cnt": np.where(tcp, (rng.random(n) < 0.3).astype(int), 0),
        "SYN Flag Cnt": syn,
        "RST Flag Cnt": np.where(tcp, (rng.random(n) < 0.15).astype(int), 0),
        "PSH Flag Cnt": np.where(tcp, (rng.random(n) < 0.4).astype(int), 0),
        "ACK Flag Cnt": np.where(tcp, (rng.random(n) < 0.5).astype(int), 0),
        "URG Flag Cnt": np.where(tcp, (rng.random(n) < 0.05).astype(int), 0),
        "CWE Flag Count": zeros,
        "ECE Flag Cnt": np.where(tcp, (rng.random(n) < 0.03).astype(int), 0),
        "Down/Up Ratio": bwd // fwd,
        "Pkt Size Avg": all_mean * npk / np.maximum(npk - 1, 1),
        "Fwd Seg Size Avg": fmean,
        "Bwd Seg Size Avg": bmean,
        "Fwd Byts/b Avg": zeros,
        "Fwd Pkts/b Avg": zeros,
        "Fwd Blk Rate Avg": zeros,
        "Bwd Byts/b Avg": zeros,
        "Bwd Pkts/b Avg": zeros,
        "Bwd Blk Rate Avg": zeros,
        "Subflow Fwd Pkts": fwd,
        "Subflow Fwd Byts": ftot,
        "Subflow Bwd Pkts": bwd,
        "Subflow Bwd Byts": btot,
        "Init Fwd Win Byts": np.where(tcp, window, -1),
        "Init Bwd Win Byts": np.where(tcp & (bwd > 0), _choice(rng, (0, 235, 26847, 28960, 65160), n).astype(int), -1),
        "Fwd Act Data Pkts": np.where(fmean > 0, np.maximum(0, fwd - syn - 1), 0),
        "Fwd Seg Size Min": header,
        "Active Mean": active,
        "Active Std": zeros,
        "Active Max": active,
        "Active Min": active,
        "Idle Mean": idle,
        "Idle Std": np.where(long_flow, idle * rng.uniform(0.0, 0.2, n), 0.0),
        "Idle Max": np.rint(idle * np.where(long_flow, 1.1, 1.0)),
        "Idle Min": np.rint(idle * np.where(long_flow, 0.9, 1.0)),
    }
    return out


def _cic_text(values: dict[str, np.ndarray], columns: list[str]) -> pd.DataFrame:
    """Integers as integers, fractions with up to 8 decimals, inf/NaN as ``Infinity``/``NaN`` (Java's text)."""
    out = {}
    for column in columns:
        v = np.asarray(values[column])
        if v.dtype.kind in "iu":
            out[column] = _ints(v)
        elif np.all(np.isfinite(v)) and np.all(v == np.rint(v)):
            out[column] = _ints(v.astype(np.int64))
        else:
            out[column] = _num(v, 8)
    return pd.DataFrame(out)


# ------------------------------------------------------------------------------------------ 3. IoTID20 style
IOTID20_STYLE_COLUMNS = (
    "Flow_ID", "Src_IP", "Src_Port", "Dst_IP", "Dst_Port", "Protocol", "Timestamp", "Flow_Duration",
    "Tot_Fwd_Pkts", "Tot_Bwd_Pkts", "TotLen_Fwd_Pkts", "TotLen_Bwd_Pkts", "Fwd_Pkt_Len_Max", "Fwd_Pkt_Len_Min",
    "Fwd_Pkt_Len_Mean", "Bwd_Pkt_Len_Max", "Bwd_Pkt_Len_Mean", "Flow_Byts/s", "Flow_Pkts/s", "Flow_IAT_Mean",
    "Flow_IAT_Std", "Flow_IAT_Max", "Flow_IAT_Min", "Fwd_IAT_Tot", "Bwd_IAT_Tot", "Fwd_Header_Len",
    "Bwd_Header_Len", "Fwd_Pkts/s", "Bwd_Pkts/s", "Pkt_Len_Mean", "SYN_Flag_Cnt", "ACK_Flag_Cnt",
    "Down/Up_Ratio", "Init_Bwd_Win_Byts", "Idle_Mean", "Label", "Cat", "Sub_Cat",
)  # fmt: skip

# Sub_Cat -> (Cat, rows, kinds). The three smallest are too small for a zero-day hold-out.
_IOTID20_CLASSES: dict[str, tuple[str, int, dict[str, float]]] = {
    "Normal": ("Normal", 1300, {"rtsp": 0.45, "dns": 0.25, "web": 0.2, "rst": 0.1}),
    "Mirai-UDP Flooding": ("Mirai", 300, {"udp_flood": 0.9, "dns": 0.1}),
    "Mirai-Hostbruteforceg": ("Mirai", 220, {"telnet_brute": 0.85, "rst": 0.15}),
    "DoS-Synflooding": ("DoS", 200, {"syn_flood": 0.9, "rst": 0.1}),
    "Mirai-Ackflooding": ("Mirai", 100, {"ack_flood": 1.0}),
    "Scan Port OS": ("Scan", 120, {"port_scan": 0.85, "rst": 0.15}),
    "Mirai-HTTP Flooding": ("Mirai", 24, {"http_flood": 0.8, "web": 0.2}),
    "Scan Hostport": ("Scan", 20, {"port_scan": 0.7, "rst": 0.3}),
    "MITM ARP Spoofing": ("MITM ARP Spoofing", 18, {"rtsp": 0.5, "dns": 0.3, "web": 0.2}),
}


def write_iotid20_style(folder: Path | str, seed: int = 0) -> Fixture:
    """``IoTID20.csv``: 2,302 CICFlowMeter rows in IoTID20's spelling, Label 0/1, identifiers label-encoded."""
    rng = np.random.default_rng(seed)
    frames = []
    for sub_cat, (cat, n, mixture) in _IOTID20_CLASSES.items():
        for kind, k in _counts(rng, n, mixture).items():
            flows = _cic_flows(rng, k, kind)
            if kind != "zero":  # IoTID20 has no zero-duration flows: keep every rate finite
                flows["Flow Duration"] = np.maximum(flows["Flow Duration"], 1)
            frame = pd.DataFrame(flows)
            frame["Cat"], frame["Sub_Cat"], frame["Label"] = cat, sub_cat, int(cat != "Normal")
            frames.append(frame)
    df = _shuffled(rng, frames)
    n = len(df)
    seconds = df["Flow Duration"].to_numpy() / 1e6
    df["Flow Byts/s"] = (df["TotLen Fwd Pkts"] + df["TotLen Bwd Pkts"]) / seconds
    df["Flow Pkts/s"] = (df["Tot Fwd Pkts"] + df["Tot Bwd Pkts"]) / seconds
    df["Fwd Pkts/s"] = df["Tot Fwd Pkts"] / seconds
    df["Bwd Pkts/s"] = df["Tot Bwd Pkts"] / seconds
    # Cameras and hubs on 192.168.0.0/24 send normal and attack flows alike; attack flows come mostly from
    # the infected hosts, so the encoded addresses correlate with the label without deciding it.
    attack = df["Label"].to_numpy() == 1
    src_ip = np.where(
        attack & (rng.random(n) < 0.7),
        _choice(rng, ("192.168.0.13", "192.168.0.24", "192.168.0.16"), n),
        _choice(rng, ("192.168.0.13", "192.168.0.24", "192.168.0.16", "192.168.0.1", "192.168.0.27"), n),
    )
    dst_ip = np.where(rng.random(n) < 0.5, _ipv4(rng, n, "192.168.0"), _ipv4(rng, n))
    src_port = rng.integers(1024, 65536, n)
    flow_id = [
        f"{s}-{d}-{sp}-{dp}-{p}"
        for s, d, sp, dp, p in zip(src_ip, dst_ip, src_port, df["Dst Port"], df["Protocol"], strict=True)
    ]
    start = dt.datetime(2019, 7, 25, 3, 25, 53)
    times = [start + dt.timedelta(seconds=int(s)) for s in np.cumsum(rng.integers(0, 4, n))]
    values = {name.replace("_", " "): df[name.replace("_", " ")].to_numpy() for name in IOTID20_STYLE_COLUMNS[7:35]}
    out = _cic_text(values, list(values))
    out.columns = list(IOTID20_STYLE_COLUMNS[7:35])
    out.insert(0, "Flow_ID", pd.factorize(pd.Series(flow_id), sort=True)[0])
    out.insert(1, "Src_IP", pd.factorize(pd.Series(src_ip), sort=True)[0])
    out.insert(2, "Src_Port", src_port)
    out.insert(3, "Dst_IP", pd.factorize(pd.Series(dst_ip), sort=True)[0])
    out.insert(4, "Dst_Port", df["Dst Port"].to_numpy())
    out.insert(5, "Protocol", df["Protocol"].to_numpy())
    out.insert(6, "Timestamp", [t.strftime("%d/%m/%Y %I:%M:%S %p") for t in times])
    out["Label"] = df["Label"].to_numpy()
    out["Cat"] = df["Cat"].to_numpy()
    out["Sub_Cat"] = df["Sub_Cat"].to_numpy()
    path = _folder(folder) / "IoTID20.csv"
    _write_csv(path, list(IOTID20_STYLE_COLUMNS), out)
    return Fixture(
        files=[path],
        params={"DATASET": "csv", "DATA_FILES": str(path), "LABEL_COLUMN": "Label", "BENIGN_LABELS": "0"},
        description=(
            f"IoTID20-style CICFlowMeter table ({n} rows, {len(IOTID20_STYLE_COLUMNS)} columns): Label 0/1, "
            "Flow_ID/Src_IP/Dst_IP label-encoded integers, Cat/Sub_Cat leaks, rarest sub-categories 18-24 rows"
        ),
    )


# --------------------------------------------------------------------------------------- 4. CSE-CIC-IDS2018
_IDS2018_CLASSES: dict[str, tuple[int, dict[str, float]]] = {
    "Benign": (1500, {"web": 0.45, "dns": 0.25, "smb": 0.1, "zero": 0.04, "ftp_ssh": 0.06, "rst": 0.1}),
    "FTP-BruteForce": (260, {"ftp_brute": 1.0}),
    "SSH-Bruteforce": (240, {"ssh_brute": 0.9, "rst": 0.1}),
    "DoS attacks-Hulk": (220, {"hulk": 1.0}),
    "DoS attacks-GoldenEye": (90, {"goldeneye": 0.9, "web": 0.1}),
}


def write_cse_cic_ids2018(folder: Path | str, seed: int = 0) -> Fixture:
    """``Wednesday-14-02-2018_TrafficForML_CICFlowMeter.csv``: 2,310 rows, 80 columns, header repeated once."""
    rng = np.random.default_rng(seed)
    frames = []
    for label, (n, mixture) in _IDS2018_CLASSES.items():
        for kind, k in _counts(rng, n, mixture).items():
            frame = _cic_text(
                _cic_flows(rng, k, kind), [c for c in CSE_CIC_IDS2018_COLUMNS if c not in ("Timestamp", "Label")]
            )
            frame["Label"] = label
            frames.append(frame)
    df = _shuffled(rng, frames)
    n = len(df)
    start = dt.datetime(2018, 2, 14, 8, 31, 1)
    times = [start + dt.timedelta(seconds=int(s)) for s in np.cumsum(rng.integers(0, 6, n))]
    df.insert(2, "Timestamp", [t.strftime("%d/%m/%Y %H:%M:%S") for t in times])
    df = df[list(CSE_CIC_IDS2018_COLUMNS)]
    middle = n // 2  # the header row comes back once inside the data, as in some of the 2018 day files
    rows = pd.concat(
        [df.iloc[:middle], pd.DataFrame([list(CSE_CIC_IDS2018_COLUMNS)], columns=df.columns), df.iloc[middle:]],
        ignore_index=True,
    )
    path = _folder(folder) / "Wednesday-14-02-2018_TrafficForML_CICFlowMeter.csv"
    _write_csv(path, list(CSE_CIC_IDS2018_COLUMNS), rows)
    return Fixture(
        files=[path],
        params={
            "DATASET": "csv",
            "DATA_FILES": str(path),
            "LABEL_COLUMN": "Label",
            "BENIGN_LABELS": "Benign",
            "LABEL_MODE": "multiclass",
        },
        description=(
            f"CSE-CIC-IDS2018 processed CSV ({n} rows, 80 columns): Benign, FTP-BruteForce, SSH-Bruteforce, "
            "DoS attacks-Hulk, DoS attacks-GoldenEye; Infinity/NaN rates, header row repeated mid-file"
        ),
    )


# ------------------------------------------------------------------------------------------- 5. TON_IoT network
TON_IOT_NETWORK_COLUMNS = (
    "ts", "src_ip", "src_port", "dst_ip", "dst_port", "proto", "service", "duration", "src_bytes", "dst_bytes",
    "conn_state", "missed_bytes", "src_pkts", "src_ip_bytes", "dst_pkts", "dst_ip_bytes", "dns_query",
    "dns_qclass", "dns_qtype", "dns_rcode", "dns_AA", "dns_RD", "dns_RA", "dns_rejected", "ssl_version",
    "ssl_cipher", "ssl_resumed", "ssl_established", "ssl_subject", "ssl_issuer", "http_trans_depth",
    "http_method", "http_uri", "http_version", "http_request_body_len", "http_response_body_len",
    "http_status_code", "http_user_agent", "http_orig_mime_types", "http_resp_mime_types", "weird_name",
    "weird_addl", "weird_notice", "label", "type",
)  # fmt: skip

_DOMAINS = (
    "www.google.com", "time.windows.com", "api.weather.example", "mqtt.hub.example", "ntp.ubuntu.com",
    "ocsp.digicert.com", "iot.vendor.example", "_ldap._tcp.dc._msdcs.local", "wpad", "connectivity-check.example",
)  # fmt: skip
_CERTS = (
    ("CN=*.google.com,O=Google LLC,L=Mountain View,ST=California,C=US", "CN=GTS CA 1O1,O=Google Trust Services,C=US"),
    ("CN=*.vendor.example,O=Vendor Ltd,C=AU", "CN=Example Issuing CA 2,O=Example Trust,C=US"),
    ("CN=mqtt.hub.example", "CN=mqtt.hub.example"),
)
_USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/73.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:66.0) Gecko/20100101 Firefox/66.0",
    "python-requests/2.21.0",
    "curl/7.58.0",
)
_URIS = {
    "normal": ("/", "/index.html", "/dvwa/index.php", "/dvwa/login.php", "/api/v1/status", "/favicon.ico"),
    "ddos": ("/", "/index.html"),
    "dos": ("/", "/dvwa/index.php"),
    "password": ("/dvwa/login.php", "/dvwa/vulnerabilities/brute/?username=admin&password=123456&Login=Login"),
    "xss": (
        "/dvwa/vulnerabilities/xss_r/?name=%3Cscript%3Ealert%28document.cookie%29%3C%2Fscript%3E",
        "/dvwa/vulnerabilities/xss_r/?name=%3Cimg+src%3Dx+onerror%3Dalert%281%29%3E",
        "/dvwa/vulnerabilities/xss_s/",
    ),
    "injection": (
        "/dvwa/vulnerabilities/sqli/?id=1%27+OR+%271%27%3D%271&Submit=Submit",
        "/dvwa/vulnerabilities/sqli/?id=1%27+UNION+SELECT+user%2C+password+FROM+users--+&Submit=Submit",
        "/dvwa/vulnerabilities/exec/?ip=127.0.0.1%3Bcat+%2Fetc%2Fpasswd",
    ),
}

# Kinds: proto, service, destination ports (0: random high port), conn_state probabilities, duration s,
# src_bytes, dst_bytes, src_pkts, dst_pkts (median, sigma); the application fields follow the service.
_TON_KINDS: dict[str, tuple] = {
    "dns": ("udp", "dns", (53,), {"SF": 0.85, "S0": 0.15}, (0.02, 1.2), (36, 0.3), (120, 0.6), (1, 0.2), (1, 0.2)),
    "ssl": ("tcp", "ssl", (443, 8883), {"SF": 0.8, "RSTR": 0.1, "S1": 0.1}, (3.0, 1.5), (900, 1.0), (4500, 1.2), (10, 0.7), (9, 0.7)),
    "http": ("tcp", "http", (80, 8080), {"SF": 0.85, "RSTO": 0.1, "S3": 0.05}, (0.6, 1.4), (420, 0.6), (2400, 1.2), (6, 0.5), (5, 0.6)),
    "tcp_plain": ("tcp", "-", (0, 1883, 22, 445, 80), {"SF": 0.45, "S0": 0.25, "REJ": 0.1, "OTH": 0.15, "SH": 0.05}, (1.5, 2.0), (300, 1.5), (400, 1.6), (4, 0.9), (3, 1.0)),
    "udp_plain": ("udp", "-", (123, 1900, 5353, 0), {"SF": 0.5, "S0": 0.5}, (0.3, 1.8), (60, 0.6), (60, 0.8), (1.5, 0.6), (0.8, 1.0)),
    "scan": ("tcp", "-", (0, 21, 22, 23, 80, 443, 445, 3389, 8080), {"S0": 0.5, "REJ": 0.4, "OTH": 0.1}, (0.0005, 2.0), (0, 0), (0, 0), (1.1, 0.3), (0.6, 0.8)),
    "udp_scan": ("udp", "-", (0, 53, 161, 137), {"S0": 0.9, "SF": 0.1}, (0.001, 1.5), (0, 0), (0, 0), (1.1, 0.3), (0.3, 0.8)),
    "tcp_flood": ("tcp", "-", (80, 443), {"S0": 0.5, "REJ": 0.2, "SH": 0.1, "OTH": 0.2}, (0.05, 2.0), (60, 1.5), (0, 0), (3, 0.9), (0.5, 0.9)),
    "http_flood": ("tcp", "http", (80,), {"SF": 0.6, "RSTO": 0.2, "S1": 0.2}, (0.2, 1.5), (380, 0.5), (1800, 1.0), (5, 0.5), (4, 0.6)),
    "slow": ("tcp", "-", (80,), {"S1": 0.4, "SF": 0.3, "RSTO": 0.3}, (60.0, 1.2), (200, 1.0), (100, 1.2), (12, 0.8), (8, 0.8)),
    "slow_http": ("tcp", "http", (80,), {"S1": 0.5, "SF": 0.5}, (30.0, 1.2), (350, 0.7), (600, 1.0), (8, 0.6), (6, 0.6)),
    "login_http": ("tcp", "http", (80,), {"SF": 0.9, "RSTO": 0.1}, (0.4, 1.0), (650, 0.4), (1900, 0.6), (6, 0.3), (5, 0.4)),
    "ssh_guess": ("tcp", "-", (22, 21), {"SF": 0.6, "RSTR": 0.2, "S3": 0.2}, (4.0, 0.8), (1300, 0.5), (1700, 0.5), (14, 0.4), (12, 0.4)),
    "attack_http": ("tcp", "http", (80,), {"SF": 0.9, "RSTO": 0.1}, (0.3, 1.2), (700, 0.5), (3500, 0.8), (6, 0.4), (5, 0.5)),
    "reverse_shell": ("tcp", "-", (4444,), {"OTH": 0.7, "SF": 0.3}, (250.0, 1.0), (90000, 1.0), (3000, 1.0), (100, 0.9), (30, 0.9)),
    "reject": ("tcp", "-", (8080, 80), {"REJ": 1.0}, (0.0001, 0.5), (0, 0), (0, 0), (1, 0.1), (1, 0.1)),
    "smb": ("tcp", "-", (445, 139), {"SF": 0.6, "OTH": 0.4}, (20.0, 1.4), (40000, 1.2), (25000, 1.2), (60, 1.0), (50, 1.0)),
}  # fmt: skip

# type -> (rows, kinds)
_TON_CLASSES: dict[str, tuple[int, dict[str, float]]] = {
    "normal": (1450, {"dns": 0.38, "ssl": 0.18, "http": 0.1, "tcp_plain": 0.24, "udp_plain": 0.1}),
    "scanning": (260, {"scan": 0.85, "udp_scan": 0.15}),
    "ddos": (220, {"tcp_flood": 0.6, "http_flood": 0.4}),
    "dos": (160, {"slow": 0.7, "slow_http": 0.3}),
    "password": (130, {"login_http": 0.6, "ssh_guess": 0.4}),
    "xss": (110, {"attack_http": 1.0}),
    "injection": (90, {"attack_http": 1.0}),
    "backdoor": (80, {"reverse_shell": 0.55, "reject": 0.45}),
    "ransomware": (70, {"smb": 0.9, "tcp_plain": 0.1}),
    "mitm": (20, {"dns": 0.5, "tcp_plain": 0.5}),
}


def _ton_kind(rng: np.random.Generator, n: int, kind: str, attack_type: str) -> pd.DataFrame:
    proto, service, ports, states, dur, sbytes, dbytes, spkts, dpkts = _TON_KINDS[kind]
    state = _choice(rng, states, n)
    src_pkts = np.maximum(1, np.rint(_lognormal(rng, *spkts, n))).astype(int)
    dst_pkts = np.rint(_lognormal(rng, *dpkts, n)).astype(int)
    dst_pkts = np.where(state == "S0", 0, np.where(state == "REJ", 1, dst_pkts))
    src_bytes = np.rint(_lognormal(rng, *sbytes, n)).astype(int) if sbytes[0] > 0 else np.zeros(n, int)
    dst_bytes = np.rint(_lognormal(rng, *dbytes, n)).astype(int) if dbytes[0] > 0 else np.zeros(n, int)
    src_bytes = np.where(np.isin(state, ["S0", "REJ"]) & (proto == "tcp"), 0, src_bytes)
    dst_bytes = np.where((dst_pkts == 0) | (state == "REJ"), 0, dst_bytes)
    duration = np.where((src_pkts == 1) & (dst_pkts == 0), 0.0, _lognormal(rng, *dur, n))
    header = 40 if proto == "tcp" else 28
    port = _choice(rng, ports, n)
    port = np.where(port == 0, rng.integers(1024, 65536, n), port)
    dash = np.full(n, "-", dtype=object)
    out = {
        "proto": np.full(n, proto, dtype=object),
        "service": np.full(n, service, dtype=object),
        "dst_port": _ints(port),
        "duration": _num(duration, 6),
        "src_bytes": _ints(src_bytes),
        "dst_bytes": _ints(dst_bytes),
        "conn_state": state,
        "missed_bytes": _ints(np.where(rng.random(n) < 0.01, rng.integers(1, 5000, n), 0)),
        "src_pkts": _ints(src_pkts),
        "src_ip_bytes": _ints(src_bytes + header * src_pkts),
        "dst_pkts": _ints(dst_pkts),
        "dst_ip_bytes": _ints(dst_bytes + header * dst_pkts),
    }
    answered = dst_pkts > 0
    if service == "dns":
        out |= {
            "dns_query": _choice(rng, _DOMAINS, n),
            "dns_qclass": np.full(n, "1", dtype=object),
            "dns_qtype": _choice(rng, {"1": 0.6, "28": 0.25, "12": 0.1, "33": 0.05}, n),
            "dns_rcode": np.where(answered, _choice(rng, {"0": 0.85, "3": 0.15}, n), "0"),
            "dns_AA": np.full(n, "F", dtype=object),
            "dns_RD": _choice(rng, {"T": 0.9, "F": 0.1}, n),
            "dns_RA": np.where(answered, _choice(rng, {"T": 0.8, "F": 0.2}, n), "F"),
            "dns_rejected": np.full(n, "F", dtype=object),
        }
    else:
        out |= {f"dns_{f}": dash for f in ("query", "AA", "RD", "RA", "rejected")}
        out |= {f"dns_{f}": np.full(n, "0", dtype=object) for f in ("qclass", "qtype", "rcode")}
    if service == "ssl":
        cert = rng.integers(0, len(_CERTS), n)
        out |= {
            "ssl_version": _choice(rng, {"TLSv12": 0.8, "TLSv13": 0.1, "TLSv10": 0.1}, n),
            "ssl_cipher": _choice(rng, ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256"), n),
            "ssl_resumed": _choice(rng, {"F": 0.8, "T": 0.2}, n),
            "ssl_established": np.where(state == "SF", "T", "F"),
            "ssl_subject": np.array([_CERTS[i][0] for i in cert], dtype=object),
            "ssl_issuer": np.array([_CERTS[i][1] for i in cert], dtype=object),
        }
    else:
        out |= {f"ssl_{f}": dash for f in ("version", "cipher", "resumed", "established", "subject", "issuer")}
    if service == "http":
        uris = _URIS.get(attack_type, _URIS["normal"])
        method = _choice(rng, {"GET": 0.8, "POST": 0.2}, n)
        if kind == "login_http":
            method = np.full(n, "POST", dtype=object)
        posted = method == "POST"
        out |= {
            "http_trans_depth": _ints(rng.integers(1, 4, n)),
            "http_method": method,
            "http_uri": _choice(rng, uris, n),
            "http_version": np.full(n, "1.1", dtype=object),
            "http_request_body_len": _ints(np.where(posted, rng.integers(20, 400, n), 0)),
            "http_response_body_len": _ints(np.rint(_lognormal(rng, 1800, 1.0, n))),
            "http_status_code": _choice(rng, {"200": 0.8, "302": 0.08, "404": 0.1, "500": 0.02}, n),
            "http_user_agent": _choice(rng, _USER_AGENTS, n),
            "http_orig_mime_types": np.where(posted, "application/x-www-form-urlencoded", "-"),
            "http_resp_mime_types": _choice(rng, {"text/html": 0.8, "-": 0.1, "image/png": 0.1}, n),
        }
    else:
        out |= {  # Zeek's unset "-" also in the numeric http_trans_depth; the other numbers are 0
            "http_trans_depth": dash,
            "http_method": dash,
            "http_uri": dash,
            "http_version": dash,
            "http_request_body_len": np.full(n, "0", dtype=object),
            "http_response_body_len": np.full(n, "0", dtype=object),
            "http_status_code": np.full(n, "0", dtype=object),
            "http_user_agent": dash,
            "http_orig_mime_types": dash,
            "http_resp_mime_types": dash,
        }
    weird = rng.random(n) < 0.04
    out |= {
        "weird_name": np.where(
            weird, _choice(rng, ("bad_TCP_checksum", "data_before_established", "possible_split_routing"), n), "-"
        ),
        "weird_addl": dash,
        "weird_notice": np.where(weird, "F", "-"),
    }
    return pd.DataFrame(out)


def write_ton_iot_network(folder: Path | str, seed: int = 0) -> Fixture:
    """``Train_Test_Network.csv``: 2,590 rows; label 0/1, type (a leak) normal or one of nine attacks."""
    rng = np.random.default_rng(seed)
    frames = []
    for attack_type, (n, mixture) in _TON_CLASSES.items():
        for kind, k in _counts(rng, n, mixture).items():
            frame = _ton_kind(rng, k, kind, attack_type)
            frame["label"], frame["type"] = str(int(attack_type != "normal")), attack_type
            frames.append(frame)
    df = _shuffled(rng, frames)
    n = len(df)
    df["ts"] = _ints(1556485532 + np.cumsum(rng.integers(0, 3, n)))
    df["src_ip"] = _ipv4(rng, n, "192.168.1")
    df["src_port"] = _ints(rng.integers(1024, 65536, n))
    df["dst_ip"] = np.where(rng.random(n) < 0.6, _ipv4(rng, n, "192.168.1"), _ipv4(rng, n))
    df = df[list(TON_IOT_NETWORK_COLUMNS)]
    path = _folder(folder) / "Train_Test_Network.csv"
    _write_csv(path, list(TON_IOT_NETWORK_COLUMNS), df)
    return Fixture(
        files=[path],
        params={
            "DATASET": "csv",
            "DATA_FILES": str(path),
            "LABEL_COLUMN": "label",
            "BENIGN_LABELS": "0",
            "MISSING_VALUES": "-",
        },
        description=(
            f"TON_IoT Train_Test_Network.csv layout ({n} rows, {len(TON_IOT_NETWORK_COLUMNS)} columns): label 0/1, "
            "type (a leak) normal or nine attacks, '-' for missing text and numeric values, quoted cells"
        ),
    )


# ----------------------------------------------------------------------------------------------- the corpus
CORPUS: dict[str, Callable[[Path], Fixture]] = {
    "ctu_zeek": write_ctu_zeek,
    "unsw_nb15": write_unsw_nb15,
    "iotid20": write_iotid20_style,
    "cse_cic_ids2018": write_cse_cic_ids2018,
    "ton_iot": write_ton_iot_network,
}

# Columns that identify a flow (addresses, ports, times, flow ids): never features.
# (A user's `Protocol` column is a feature, one-hot encoded as paper 1 does; only CICIDS2017's is an identifier.)
IDENTIFIERS: dict[str, tuple[str, ...]] = {
    "ctu_zeek": ("ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "tunnel_parents"),
    "unsw_nb15": ("srcip", "sport", "dstip", "dsport", "Stime", "Ltime"),
    "iotid20": ("Flow_ID", "Src_IP", "Src_Port", "Dst_IP", "Dst_Port", "Timestamp"),
    "cse_cic_ids2018": ("Dst Port", "Timestamp"),
    "ton_iot": ("ts", "src_ip", "src_port", "dst_ip", "dst_port"),
}
# Label-like columns other than LABEL_COLUMN: each predicts the label, so the project must drop it.
LEAK_COLUMNS: dict[str, tuple[str, ...]] = {
    "ctu_zeek": ("detailedlabel",),
    "unsw_nb15": ("attack_cat",),
    "iotid20": ("Cat", "Sub_Cat"),
    "cse_cic_ids2018": (),
    "ton_iot": ("type",),
}
