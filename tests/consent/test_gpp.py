"""IAB GPP strings: spec vectors, hand-computed vectors, reference-library vectors, round trips, malformed input."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privet.consent.gpp import (
    Consent,
    GppError,
    MspaMode,
    Notice,
    OptOut,
    RawSection,
    UsNat,
    decode_gpp,
    encode_gpp,
    usnat_from_choices,
)
from privet.consent.gpp_bits import (
    MAX_RANGE_IDS,
    BitReader,
    BitWriter,
    decode_chars,
    decode_header,
    encode_chars,
    encode_header,
    fibonacci_code,
)

TCF = "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA"  # the TCF v2 string in the GPP spec's examples


# The "About Fibonacci Encoding" table of the Consent String Specification.
@pytest.mark.parametrize(
    ("value", "code"), [(1, "11"), (2, "011"), (3, "0011"), (4, "1011"), (5, "00011"), (6, "10011"), (7, "01011")]
)
def test_fibonacci_codes_from_the_spec(value: int, code: str) -> None:
    assert fibonacci_code(value) == code
    assert BitReader(encode_chars(code), "t").fibonacci("x") == value


@given(st.integers(min_value=1, max_value=10**12))
def test_fibonacci_round_trip(value: int) -> None:
    code = fibonacci_code(value)
    assert code.endswith("11") and "11" not in code[:-1]
    assert BitReader(encode_chars(code), "t").fibonacci("x") == value


# Header examples 1-3 of the spec, and the header of its URL-macro example (padded to a byte, as the
# reference libraries do). [7] and [2, 7] are computed by hand:
#   [7]:    000011 000001 | 000000000001 | 0 01011          -> 30 bits        -> D B A B L
#   [2, 7]: 000011 000001 | 000000000010 | 0 011 | 0 00011  -> 34 bits + 00   -> D B A C M M
#   []:     000011 000001 | 000000000000                    -> 24 bits        -> D B A A
@pytest.mark.parametrize(
    ("ids", "header"),
    [((2,), "DBABM"), ((2, 6), "DBACNY"), ((5, 6), "DBABjw"), ((7,), "DBABL"), ((2, 7), "DBACMM"), ((), "DBAA")],
)
def test_header_vectors(ids: tuple[int, ...], header: str) -> None:
    assert encode_header(ids) == header
    assert decode_header(header) == ids


def test_header_padded_to_a_byte_and_with_equals_signs() -> None:
    assert decode_header("DBACNYA") == (2, 6)
    assert decode_header("DBABLA") == decode_header("DBABL==") == (7,)


def test_ranges_group_consecutive_ids() -> None:
    writer = BitWriter()
    writer.fibonacci_range([3, 5, 6, 7, 8])
    # The spec's Range(Fibonacci) example: 2 items; single 3; group from 3+2 = 5 to 5+3 = 8.
    assert encode_chars("000000000010" + "0" + "0011" + "1" + "011" + "0011") == writer.text()
    assert BitReader(writer.text(), "t").fibonacci_range("ids") == (3, 5, 6, 7, 8)


@pytest.mark.parametrize(
    "text",
    [
        f"DBABM~{TCF}",  # GPP String Examples 1-3 of the spec
        f"DBACNY~{TCF}~1YNN",
        f"DBABjw~{TCF}~1YNN",
    ],
)
def test_spec_examples_decode_and_re_encode(text: str) -> None:
    gpp = decode_gpp(text)
    assert gpp.usnat is None
    assert [s.text for s in gpp.raw] == text.split("~")[1:]
    assert all("not decoded by privet, kept as raw text" in note for note in gpp.notes)
    assert len(gpp.notes) == len(gpp.raw)
    assert encode_gpp(gpp.sections) == text


# Hand-computed from the usnat field table (version 1):
#   Version 1                                   000001                               -> B
#   SharingNotice, SaleOptOutNotice, SharingOptOutNotice = 1, 1, 1        01 01 01   -> V
#   TargetedAdvertising-, SensitiveDataProcessingOptOut-, SensitiveDataLimitUse- Notice = 1, 1, 1 -> V
#   SaleOptOut 1, SharingOptOut 2, TargetedAdvertisingOptOut 1            01 10 01   -> Z
#   SensitiveDataProcessing 12 x 1 (no consent)  010101 x 4                          -> V V V V
#   KnownChildSensitiveDataConsents 0, 0; PersonalDataConsents 0         00 00 00   -> A
#   MspaCoveredTransaction 2, MspaOptOutOptionMode 0, MspaServiceProviderMode 0 10 00 00 -> g
#   GPC sub-section: SubsectionType 1, Gpc 0, padding                     01 0 000   -> Q
HAND = "BVVZVVVVAg.Q"


def test_hand_computed_usnat_vector() -> None:
    usnat = usnat_from_choices(
        sale_opt_out=True,
        sharing_opt_out=False,
        targeted_ads_opt_out=True,
        gpc=False,
        notices_given=True,
        sensitive_limited=True,
        known_child=False,
    )
    assert usnat.encode() == HAND
    assert encode_gpp([usnat]) == f"DBABL~{HAND}"
    assert decode_gpp(f"DBABL~{HAND}").usnat == usnat


# Vectors from the IAB reference library's (iabgpp-es) usnat v1 tests, which pad to a byte before the
# 6-bit characters; this library's spec-form output is one character shorter.
def test_reference_library_v1_vector() -> None:
    usnat = decode_gpp("DBABLA~BVQVAAAAAUA.YA").usnat
    assert usnat == UsNat(
        version=1,
        sharing_notice=Notice.PROVIDED,
        sale_opt_out_notice=Notice.PROVIDED,
        sharing_opt_out_notice=Notice.PROVIDED,
        targeted_advertising_opt_out_notice=Notice.PROVIDED,
        sale_opt_out=OptOut.OPTED_OUT,
        sharing_opt_out=OptOut.OPTED_OUT,
        targeted_advertising_opt_out=OptOut.OPTED_OUT,
        mspa_covered_transaction=MspaMode.YES,
        mspa_opt_out_option_mode=MspaMode.YES,
        gpc=True,
    )
    assert usnat.encode() == "BVQVAAAAAU.Y"
    assert decode_gpp("DBABLA~BAAAAAAAAQA.QA").usnat == UsNat(mspa_covered_transaction=MspaMode.YES, gpc=False)


def test_spec_form_core_without_gpc() -> None:
    # 60 bits, no padding: B | 01 01 01 | 01 00 00 | 10 10 10 | AAAA | 00 00 10 | 10 00 00
    usnat = decode_gpp("DBABLA~BVQqAAAACg").usnat
    assert usnat is not None and usnat.gpc is None
    assert (usnat.sale_opt_out, usnat.personal_data_consents) == (OptOut.DID_NOT_OPT_OUT, Consent.CONSENT)
    assert usnat.mspa_covered_transaction is MspaMode.NO
    assert usnat.encode() == "BVQqAAAACg"


def test_version_2_vector() -> None:
    # The reference library's v2 vector with Version 2 (C): V V V = nine fields of 1; k k k k k p = 2,1,0 x 5
    # then 2; 10 01 00 = child 2, 1, 0; 01 = PersonalDataConsents 1; 01 = covered; Y = 01 10 00 = modes 1, 2.
    usnat = decode_gpp("DBABLA~CVVVkkkkkpFY.YA").usnat
    assert usnat is not None and usnat.version == 2
    assert usnat.sensitive_data_processing == (2, 1, 0) * 5 + (2,)
    assert usnat.known_child_sensitive_data_consents == (2, 1, 0)
    assert (usnat.mspa_opt_out_option_mode, usnat.mspa_service_provider_mode) == (MspaMode.YES, MspaMode.NO)
    assert usnat.encode() == "CVVVkkkkkpFY.Y"


def test_version_1_label_on_the_version_2_layout_is_read_as_version_2() -> None:
    gpp = decode_gpp("DBABLA~BAAAAAAAAABA.QA")  # what some reference-library releases wrote by default
    assert gpp.usnat == UsNat(
        version=2,
        sensitive_data_processing=(Consent.NOT_APPLICABLE,) * 16,
        known_child_sensitive_data_consents=(Consent.NOT_APPLICABLE,) * 3,
        mspa_covered_transaction=MspaMode.YES,
        gpc=False,
    )
    assert gpp.notes == ("section 7 (usnat): 72 bits labelled version 1 hold the version 2 layout; read as 2",)
    over_padded = decode_gpp("DBABL~BVQVAAAAAUAAAA")  # a version 1 core with needless zero characters
    assert over_padded.usnat == decode_gpp("DBABL~BVQVAAAAAU").usnat
    assert over_padded.notes == ()


@pytest.mark.parametrize(
    "text",
    [
        "DBABL~BVQVAAAAAU.Y",  # the spec's form
        "DBABLA~BVQVAAAAAUA.YA",  # padded to a byte first
        "DBABLA==~BVQVAAAAAUA=.YA==",  # with base64 '=' padding
        "  DBABL~BVQVAAAAAU.Y\n",
    ],
)
def test_both_padding_forms_decode_alike_and_encode_in_the_spec_form(text: str) -> None:
    gpp = decode_gpp(text)
    assert encode_gpp(gpp.sections) == "DBABL~BVQVAAAAAU.Y"


def test_standard_base64_characters_are_read_as_url_safe_ones() -> None:
    assert decode_chars("+/", "t") == decode_chars("-_", "t") == "111110111111"


versions = st.sampled_from([1, 2])
tri = st.sampled_from([0, 1, 2])


@st.composite
def usnats(draw: st.DrawFn) -> UsNat:
    version = draw(versions)
    sensitive, child = {1: (12, 2), 2: (16, 3)}[version]
    return UsNat(
        version=version,
        **{name: draw(tri) for name in _TRI_FIELDS},
        sensitive_data_processing=tuple(draw(st.lists(tri, min_size=sensitive, max_size=sensitive))),
        known_child_sensitive_data_consents=tuple(draw(st.lists(tri, min_size=child, max_size=child))),
        mspa_covered_transaction=draw(st.sampled_from([1, 2])),
        gpc=draw(st.none() | st.booleans()),
    )


_TRI_FIELDS = [
    "sharing_notice", "sale_opt_out_notice", "sharing_opt_out_notice", "targeted_advertising_opt_out_notice",
    "sensitive_data_processing_opt_out_notice", "sensitive_data_limit_use_notice", "sale_opt_out", "sharing_opt_out",
    "targeted_advertising_opt_out", "personal_data_consents", "mspa_opt_out_option_mode", "mspa_service_provider_mode",
]  # fmt: skip


@given(usnats(), st.lists(st.sampled_from([2, 6, 8, 9, 99]), unique=True))
def test_any_valid_usnat_round_trips(usnat: UsNat, others: list[int]) -> None:
    sections = [usnat, *(RawSection(i, f"raw{i}") for i in others)]
    text = encode_gpp(sections)
    assert "=" not in text
    gpp = decode_gpp(text)
    assert gpp.usnat == usnat
    assert gpp.section_ids == tuple(sorted([7, *others]))
    assert encode_gpp(gpp.sections) == text


@given(usnats())
def test_byte_padded_form_decodes_to_the_same_value(usnat: UsNat) -> None:
    def byte_padded(part: str) -> str:
        bits = decode_chars(part, "t")
        return encode_chars(bits + "0" * (-len(bits) % 8))

    padded = "~".join(".".join(map(byte_padded, part.split("."))) for part in encode_gpp([usnat]).split("~"))
    assert decode_gpp(padded).usnat == usnat


def _huge_range() -> str:
    writer = BitWriter()
    writer.uint(3, 6)
    writer.uint(1, 6)
    writer.uint(1, 12)
    writer.bool(True)
    writer.fibonacci(1)
    writer.fibonacci(MAX_RANGE_IDS * 1000)
    return writer.text()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "header: empty"),
        ("DB!BM", "header: '!' at position 2 is not a base64url character"),
        ("DB=ABM~x", "header: '=' at position 2 is not a base64url character"),
        (TCF, "header: Type is 2, expected 3 (a TCF v2 string, not GPP)"),
        ("DCABM~x", "header: Version is 2, only 1 is supported"),
        ("DBA", "header: truncated at bit 12 of 18 while reading Sections (count)"),
        ("DBABA", "header: truncated at bit 30 of 30 while reading Sections item 1 (offset)"),
        (_huge_range(), f"header: Sections lists more than {MAX_RANGE_IDS} ids"),
        ("DBABL", "header lists section 7 (usnat), but 0 section(s) follow it"),
        ("DBABL~BVQVAAAAAU~1YNN", "header lists section 7 (usnat), but 2 section(s) follow it"),
        ("DBAA~1YNN", "header lists no sections, but 1 section(s) follow it"),
        ("DBABL~", "section 7 (usnat): listed in the header but empty"),
        ("DBABL~BVQVAAA", "section 7 (usnat): 42 bits, expected at least 60 for version 1"),
        ("DBABL~CVVVkkkkkp", "section 7 (usnat): 60 bits, expected at least 70 for version 2"),
        ("DBABL~BVQ*AAAAAU", "section 7 (usnat) core: '*' at position 3 is not a base64url character"),
        ("DBABL~BVQVAAAAAU.", "section 7 (usnat) sub-section 1: empty"),
        ("DBABL~BVQVAAAAAU.A", "section 7 (usnat) sub-section 1: type 0; only one GPC sub-section (1) may follow"),
        ("DBABL~BVQVAAAAAU.Y.Y", "section 7 (usnat) sub-section 2: type 1; only one GPC sub-section (1) may follow"),
        ("DBABL~BbbbGxsbFbA", "section 7 (usnat): SharingOptOutNotice: 3 is not one of 0, 1, 2"),
        ("DBABL~BVQVAAAAAA", "section 7 (usnat): MspaCoveredTransaction: must be 1 (yes) or 2 (no)"),
        ("DBABL~BVVZVVVVAs", "section 7 (usnat): MspaOptOutOptionMode: 3 is not one of 0, 1, 2"),
        ("DBABL~BVVZVVV_Ag", "section 7 (usnat): SensitiveDataProcessing[9]: 3 is not one of 0, 1, 2"),
    ],
)
def test_malformed_strings_name_the_part_and_the_field(text: str, message: str) -> None:
    with pytest.raises(GppError, match=f"^{re.escape(message)}$"):
        decode_gpp(text)


def test_unknown_sections_and_versions_are_kept_raw_and_reported() -> None:
    gpp = decode_gpp("DBACMM~abc.def~DAAAAAAAAg")  # a usnat core claiming version 3
    assert gpp.section_ids == (2, 7)
    assert gpp.usnat is None
    assert gpp.raw == (RawSection(2, "abc.def"), RawSection(7, "DAAAAAAAAg"))
    assert gpp.notes == (
        "section 2 (tcfeuv2): not decoded by privet, kept as raw text",
        "section 7 (usnat): version 3 is not supported, kept raw",
    )
    unknown = decode_gpp(encode_gpp([RawSection(99, "x")]))
    assert unknown.notes == ("section 99 (unknown id): not decoded by privet, kept as raw text",)


def test_encoding_sorts_sections_and_refuses_bad_ones() -> None:
    assert encode_gpp([RawSection(8, "b"), UsNat(gpc=None)]).split("~")[1:] == ["BAAAAAAAAg", "b"]
    with pytest.raises(GppError, match="repeated: 7"):
        encode_gpp([UsNat(), UsNat()])
    with pytest.raises(GppError, match="section 2 \\(tcfeuv2\\): 'a~b' is not web-safe"):
        RawSection(2, "a~b")
    with pytest.raises(GppError, match="3 is not a section id"):
        RawSection(3, "x")


def test_usnat_values_are_checked_and_normalised() -> None:
    assert UsNat(sale_opt_out=1).sale_opt_out is OptOut.OPTED_OUT  # type: ignore[arg-type]
    with pytest.raises(GppError, match="SensitiveDataProcessing: version 1 has 12 entries, not 16"):
        UsNat(sensitive_data_processing=(Consent.NO_CONSENT,) * 16)
    with pytest.raises(GppError, match="KnownChildSensitiveDataConsents: version 2 has 3 entries, not 2"):
        UsNat(version=2, sensitive_data_processing=(Consent.NO_CONSENT,) * 16)
    with pytest.raises(GppError, match="usnat version 3 is not supported"):
        UsNat(version=3)
    with pytest.raises(GppError, match="Gpc: 1 is not a bool or None"):
        UsNat(gpc=1)  # type: ignore[arg-type]


def test_choices_map_to_the_spec_values() -> None:
    def choose(sale: bool = False, gpc: bool | None = None, notices: bool = True, child: bool = False) -> UsNat:
        return usnat_from_choices(
            sale_opt_out=sale,
            sharing_opt_out=False,
            targeted_ads_opt_out=False,
            gpc=gpc,
            notices_given=notices,
            sensitive_limited=child,
            known_child=child,
            version=2 if child else 1,
        )

    plain = choose()
    assert (plain.sale_opt_out, plain.sharing_opt_out) == (OptOut.DID_NOT_OPT_OUT, OptOut.DID_NOT_OPT_OUT)
    assert plain.sale_opt_out_notice is Notice.PROVIDED
    assert set(plain.sensitive_data_processing) == {Consent.NOT_APPLICABLE}
    assert set(plain.known_child_sensitive_data_consents) == {Consent.NOT_APPLICABLE}
    assert plain.mspa_covered_transaction is MspaMode.NO and plain.gpc is None

    gpc = choose(gpc=True)
    assert gpc.gpc is True
    assert {gpc.sale_opt_out, gpc.sharing_opt_out, gpc.targeted_advertising_opt_out} == {OptOut.OPTED_OUT}
    assert choose(gpc=False).gpc is False

    no_notice = choose(sale=True, notices=False)
    assert no_notice.sale_opt_out_notice is Notice.NOT_PROVIDED
    assert no_notice.sale_opt_out is OptOut.NOT_APPLICABLE  # the spec: no notice -> opt-out not applicable

    child = choose(child=True)
    assert child.known_child_sensitive_data_consents == (Consent.NO_CONSENT,) * 3
    assert child.sensitive_data_processing == (Consent.NO_CONSENT,) * 16
    assert decode_gpp(encode_gpp([child])).usnat == child
    with pytest.raises(GppError, match="usnat version 9 is not supported"):
        usnat_from_choices(False, False, False, None, True, False, False, version=9)
