from hostmap.hostnames import normalize_hostname, registrable_domain, split_tokens


def test_names_are_lower_case_without_trailing_dot():
    assert normalize_hostname("ZZ-JKM.HNZWFW.gov.cn.") == "zz-jkm.hnzwfw.gov.cn"


def test_the_root_stays_the_root():
    assert normalize_hostname(".") == "."


def test_punycode_is_shown_as_unicode_and_addresses_are_canonical():
    assert normalize_hostname("xn--fiqs8s.example") == "中国.example"
    assert normalize_hostname("[2001:DB8::1]") == "2001:db8::1"


def test_invalid_idna_is_kept_as_given():
    assert normalize_hostname("_dmarc.Example.") == "_dmarc.example"


def test_registrable_domain_follows_the_public_suffix_list():
    assert registrable_domain("zz-jkm.hnzwfw.gov.cn") == "hnzwfw.gov.cn"
    assert registrable_domain("a.b.example.co.uk") == "example.co.uk"
    assert registrable_domain("192.0.2.1") is None


def test_tokens_keep_their_separators():
    assert split_tokens("zz-jkm.a.cn") == ["zz", "-", "jkm", ".", "a", ".", "cn"]
