"""MaxMind DB (.mmdb) address databases, read with MaxMind's `maxminddb` library.

The format (MaxMind DB File Format Specification 2.0) is a binary search tree
over address bits, a data section, and a metadata map that starts after the
marker ``\\xab\\xcd\\xefMaxMind.com`` within the last 128 KiB of the file; that
marker is what the sniffer looks for.  The file is memory-mapped
(`maxminddb.MODE_AUTO`: the C extension where installed, else pure Python), so
a database of millions of networks is not read into memory.

A record is a map whose layout depends on the producer; `record_fields` reads:

- GeoLite2/GeoIP2-ASN: ``autonomous_system_number``, ``autonomous_system_organization``;
- GeoLite2/GeoIP2-City and -Country: ``country.iso_code``, ``subdivisions[0].names``,
  ``city.names``.  Place names keep the Chinese given in ``names['zh-CN']``
  next to ``names['en']`` ("Henan 河南"); with only one of them, that one;
- other writers (IPinfo, DB-IP, ip2location- or ipip-style exports, hand-made
  files): keys such as ``asn``, ``as_name``, ``org``, ``isp``, ``country_code``,
  ``country``, ``region``, ``province``, ``city``, matched case-insensitively;
  a value may be text, a names map, or a map with ``name``/``iso_code``.

``"AS24445"`` and ``24445`` are the same AS number; AS 0 and the values ``""``,
``"-"`` and ``"0"`` mean unknown.  Each answer cites the network that holds the
address (locator ``network 117.160.192.0/19``) and spans exactly that network.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from hostmap.errors import InputError, MalformedInput
from hostmap.model import AddressInfo, Provenance, normalize_address

if TYPE_CHECKING:
    from maxminddb import Reader

__all__ = [
    "METADATA_MARKER",
    "MmdbDatabase",
    "MmdbLookup",
    "RecordFields",
    "database",
    "record_fields",
]

METADATA_MARKER = b"\xab\xcd\xefMaxMind.com"
"""MaxMind DB spec, "Database Metadata": the bytes that precede the metadata map."""

_UNKNOWN = ("", "-", "0")
_ASN_KEYS = ("autonomous_system_number", "asn", "as_number", "asnumber", "as_num")
_OPERATOR_KEYS = (
    "autonomous_system_organization", "as_name", "as_org", "as_organization", "asn_org",
    "org", "organization", "organisation", "isp", "isp_name", "operator", "owner",
)  # fmt: skip
_COUNTRY_CODE_KEYS = (
    "country_code",
    "country_iso_code",
    "iso_code",
    "country_short",
    "countrycode",
    "country_iso",
)
_COUNTRY_NAME_KEYS = ("country", "country_name", "country_long")
_REGION_KEYS = (
    "subdivisions",
    "region",
    "province",
    "region_name",
    "subdivision",
    "subdivision_1_name",
    "state",
    "prov",
)
_CITY_KEYS = ("city", "city_name")


class RecordFields(NamedTuple):
    """What hostmap reads from one database record."""

    asn: int | None = None
    operator: str | None = None
    country: str | None = None
    region: str | None = None
    city: str | None = None


def record_fields(record: object) -> RecordFields:
    """The AS number, operator and place in a record of any layout described above."""
    if not isinstance(record, Mapping):
        return RecordFields()
    fields = {str(key).lower(): value for key, value in record.items()}
    country = fields.get("country")
    if isinstance(country, Mapping):
        country_text = _text(country.get("iso_code")) or _text(country)
    else:
        country_text = _first_text(fields, _COUNTRY_CODE_KEYS) or _first_text(
            fields, _COUNTRY_NAME_KEYS
        )
    return RecordFields(
        asn=_asn(next((fields[k] for k in _ASN_KEYS if fields.get(k) is not None), None)),
        operator=_first_text(fields, _OPERATOR_KEYS),
        country=country_text.upper() if country_text and len(country_text) == 2 else country_text,
        region=_first_text(fields, _REGION_KEYS),
        city=_first_text(fields, _CITY_KEYS),
    )


def _first_text(fields: Mapping[str, object], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        text = _text(fields.get(key))
        if text:
            return text
    return None


def _text(value: object) -> str | None:
    """Text from a string, a names map ({'en': .., 'zh-CN': ..}), a map with
    'names' or 'name', or the first element of a list (GeoIP2 subdivisions)."""
    if isinstance(value, str):
        value = value.strip()
        return None if value in _UNKNOWN else value
    if isinstance(value, list):
        return _text(value[0]) if value else None
    if not isinstance(value, Mapping):
        return None
    if "names" in value:
        return _text(value["names"])
    if "name" in value:
        return _text(value["name"])
    names = {str(key).lower(): _text(text) for key, text in value.items()}
    english, chinese = names.get("en"), names.get("zh-cn") or names.get("zh")
    if english and chinese and english != chinese:
        return f"{english} {chinese}"
    if english or chinese:
        return english or chinese
    return next((names[key] for key in sorted(names) if names[key]), None)


def _asn(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value or None
    if isinstance(value, str):
        digits = value.strip().upper().removeprefix("AS")
        return (int(digits) or None) if digits.isdigit() else None
    return None


class MmdbLookup:
    """An open MaxMind DB; see the module docstring."""

    def __init__(self, path: Path, reader: Reader) -> None:
        from maxminddb import InvalidDatabaseError

        self._path = path
        self._reader = reader
        self._ip_version = int(reader.metadata().ip_version)
        # The pure-Python reader meets damaged bytes as whatever error they cause.
        self._damage = (InvalidDatabaseError, ValueError, IndexError, TypeError, struct.error)

    def lookup(self, address: str) -> AddressInfo | None:
        ip = ipaddress.ip_address(normalize_address(address))
        if ip.version == 6 and self._ip_version == 4:
            return None  # an IPv4-only database holds no IPv6 network
        try:
            record, prefix_len = self._reader.get_with_prefix_len(ip)
        except self._damage as exc:
            raise MalformedInput(f"{self._path}: looking up {ip}: {exc}") from exc
        fields = record_fields(record)
        if fields == RecordFields():
            return None
        network = ipaddress.ip_network((ip, prefix_len), strict=False)
        return AddressInfo(
            provenance=Provenance(
                file=str(self._path), format="mmdb", locator=f"network {network}"
            ),
            range_start=str(network.network_address),
            range_end=str(network.broadcast_address),
            **fields._asdict(),
        )

    def close(self) -> None:
        self._reader.close()


class MmdbDatabase:
    """MaxMind DB files; see the module docstring."""

    format = "mmdb"
    description = "MaxMind DB files: GeoLite2/GeoIP2 ASN, City, Country; IPinfo, DB-IP and others"
    suffixes: tuple[str, ...] = (".mmdb",)
    signature = "metadata marker \\xab\\xcd\\xefMaxMind.com within the last 128 KiB"
    available = importlib.util.find_spec("maxminddb") is not None

    def sniff(self, head: bytes, tail: bytes, path: Path) -> float:
        return 1.0 if METADATA_MARKER in tail else 0.0

    def open(self, path: Path) -> MmdbLookup:
        import maxminddb

        try:
            reader = maxminddb.open_database(str(path), maxminddb.MODE_AUTO)
        except FileNotFoundError as exc:
            raise InputError(f"{path}: {exc.strerror}") from exc
        except OSError as exc:
            raise InputError(f"{path}: cannot read ({exc})") from exc
        except (maxminddb.InvalidDatabaseError, ValueError) as exc:
            # ValueError: the pure-Python reader cannot mmap an empty file.
            raise MalformedInput(f"{path}: not a usable MaxMind DB file ({exc})") from exc
        return MmdbLookup(path, reader)


database = MmdbDatabase()
