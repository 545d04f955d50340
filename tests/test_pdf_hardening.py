"""PDFs that peer tools stumble on (issue #22 item 9): a page that makes poppler eat memory or
time, AES-256 passwords in the forms the standard allows, and XFA forms' library chatter."""

from __future__ import annotations

import time
import unicodedata
from pathlib import Path

import pikepdf
import pytest
from conftest import run_exaone
from pdf_fixtures import SAMPLE_PAGES, make_text_pdf

from exaone_cli.errors import InputError
from exaone_cli.inputs import open_source
from exaone_cli.pages import RASTERIZERS, Document, RasterOptions, open_document
from exaone_cli.pages import poppler as poppler_module
from exaone_cli.pages.passwords import password_forms, saslprep

rasterizers = pytest.mark.parametrize("rasterizer", RASTERIZERS)


def _open(path: Path, rasterizer: str, **options: object) -> Document:
    return open_document(open_source(str(path)), RasterOptions(rasterizer=rasterizer, **options))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_text_pdf(tmp_path_factory.mktemp("plain") / "plain.pdf", SAMPLE_PAGES[:1])


def locked(plain: Path, folder: Path, password: str, revision: int) -> Path:
    """`plain` encrypted by qpdf with `password` exactly as given (AES-256 for revision 6, RC4
    below 4), as a conforming writer stores a password it has already prepared."""
    out = folder / f"r{revision}-{abs(hash(password))}.pdf"
    with pikepdf.open(plain) as pdf:
        pdf.save(
            out,
            encryption=pikepdf.Encryption(
                user=password, owner="owner-" + password, R=revision, aes=revision >= 4, metadata=revision >= 4
            ),
        )
    return out


# (typed, stored): what a user types and the SASLprep'd form an AES-256 writer locked the file with
R6_FORMS = [
    pytest.param("Ⅸ", "IX", id="nfkc-roman-numeral"),
    pytest.param("pass\u00adword", "password", id="soft-hyphen-mapped-to-nothing"),
    pytest.param("열려라\u00a0참깨", "열려라 참깨", id="no-break-space-is-a-space"),
    pytest.param(unicodedata.normalize("NFD", "café"), "café", id="nfd-from-macos"),
    pytest.param(unicodedata.normalize("NFD", "비밀번호"), "비밀번호", id="nfd-hangul"),
]


@rasterizers
@pytest.mark.parametrize(("typed", "stored"), R6_FORMS)
def test_aes256_password_is_tried_in_its_saslprep_form(
    plain: Path, tmp_path: Path, rasterizer: str, typed: str, stored: str
) -> None:
    pdf = locked(plain, tmp_path, stored, 6)
    with _open(pdf, rasterizer, password=typed, dpi=30) as document:
        assert document.page_count == 1 and document.render(1).width > 0


@rasterizers
@pytest.mark.parametrize("revision", [3, 4, 6])
def test_a_wrong_password_is_still_wrong(plain: Path, tmp_path: Path, rasterizer: str, revision: int) -> None:
    pdf = locked(plain, tmp_path, "café", revision)
    with pytest.raises(InputError) as caught:
        _open(pdf, rasterizer, password="cafe").close()
    assert caught.value.message == f"{pdf}: wrong password"


@rasterizers
@pytest.mark.parametrize("revision", [3, 4])
def test_rc4_and_aes128_passwords_open_as_typed_and_in_nfd(
    plain: Path, tmp_path: Path, rasterizer: str, revision: int
) -> None:
    pdf = locked(plain, tmp_path, "café", revision)
    for typed in ("café", unicodedata.normalize("NFD", "café")):
        with _open(pdf, rasterizer, password=typed, dpi=30) as document:
            assert document.page_count == 1


def test_saslprep_follows_rfc_4013() -> None:
    assert saslprep("I\u00adX") == "IX"  # B.1: mapped to nothing
    assert saslprep("user\u00a0name") == "user name"  # C.1.2: a space
    assert saslprep("Ⅸ") == "IX" and saslprep("ª") == "a"  # NFKC
    assert saslprep("a\u0007b") is None  # C.2.1: a control character is prohibited
    assert saslprep("\u0627\u0031") is None  # RandALCat must begin and end a bidi string
    assert saslprep("비밀") == "비밀"


def test_password_forms_are_each_tried_once_most_likely_first() -> None:
    assert password_forms("secret") == [b"secret"]
    nfd = unicodedata.normalize("NFD", "café")
    assert password_forms(nfd) == [nfd.encode(), "café".encode(), "café".encode("latin-1")]
    assert password_forms("Ⅸ") == ["Ⅸ".encode(), b"IX"]


def test_poppler_page_that_needs_too_much_memory_is_one_page_error(
    plain: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A content bomb makes pdftoppm allocate without end; its child is capped, and the page fails
    with an error that names the limit, fast, instead of taking the machine's memory."""
    monkeypatch.setattr(poppler_module, "BASE_MEMORY_BYTES", 48 << 20)
    monkeypatch.setattr(poppler_module, "BYTES_PER_CAPPED_PIXEL", 0)
    start = time.monotonic()
    with _open(plain, "poppler", dpi=1200) as document, pytest.raises(InputError) as caught:
        document.render(1)  # 5,945 x 8,409 pixels at the pixel cap: about 150 MB of RGB
    assert time.monotonic() - start < 30
    assert (
        caught.value.message
        == f"{plain}: page 1: pdftoppm needed more than its 48 MiB memory limit (a damaged or hostile page?)"
    )
    assert caught.value.hint == "try --rasterizer pdfium"
    monkeypatch.undo()
    with _open(plain, "poppler", dpi=1200) as document:  # the real limit leaves room for real pages
        assert document.render(1).width == 5945  # at the pixel cap: 719 DPI


def test_poppler_page_that_takes_too_long_is_stopped(plain: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(poppler_module, "PAGE_TIMEOUT_S", 0.01)
    with _open(plain, "poppler", dpi=600) as document, pytest.raises(InputError) as caught:
        document.render(1)
    assert caught.value.message == f"{plain}: page 1: pdftoppm took more than 0.01 s and was stopped"


def test_an_xfa_form_gets_no_pip_advice_on_stderr(plain: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "xfa.pdf"
    with pikepdf.open(plain) as doc:
        xfa = doc.make_stream(b"<xdp:xdp xmlns:xdp='http://ns.adobe.com/xdp/'></xdp:xdp>")
        doc.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array(), XFA=xfa, NeedsRendering=True)
        doc.save(pdf)
    proc = run_exaone("ocr", str(pdf), "--dry-run", "--dpi", "40")
    assert proc.returncode == 0, proc.stderr
    assert "pip" not in proc.stderr and "init_forms" not in proc.stderr
    with _open(pdf, "pdfium", dpi=30) as document:
        assert "XFA form" in (document.render(1).note or "")
    debug = run_exaone("ocr", str(pdf), "--dry-run", "--dpi", "40", env={"EXAONE_DEBUG": "1"})
    assert "XFA" in debug.stderr  # the library's own words, for those who ask for them
