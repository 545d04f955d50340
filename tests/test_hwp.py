"""HWP 5.0 and HWPX documents (README, "HWP and HWPX"): recognised by content, rendered to PDF
pages by rhwp and read through the PDF path, on real Hangul files (../shared/cases/hwp, from the
hwp-rs test suite) and HWPX files made here with python-hwpx; and the traps rhwp 0.8.1 sets."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from conftest import run_exaone
from docqa_fixtures import DocumentServer
from fake_openai import FakeServer
from test_extract import JsonServer

CASES = Path(__file__).resolve().parents[1] / "../shared/cases/hwp"
if not CASES.is_dir():
    CASES = Path("/work/shared/cases/hwp")
REAL = {  # the real files, and text each one's pages must show
    "hello_world.hwp": "Hello World!",
    "range.hwp": "Hello World!",
    "draw_text.hwp": "상자1",  # inside a drawing object: rhwp's plain text misses it, the page has it
    "group_with_draw_text.hwp": "테스트1",
    "outline.hwp": "",  # these three are structure tests with no visible text
    "bookmark.hwp": "",
    "dutmal.hwp": "",
}
ANSWER = "신청 기간은 2026년 3월 2일부터 3월 31일까지입니다."
NANUM_ONLY = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><dir>/usr/share/fonts/truetype/nanum</dir><cachedir>{cache}</cachedir></fontconfig>
"""


def make_hwpx(path: Path, paragraphs: list[str], table: list[list[str]] | None = None) -> Path:
    from hwpx import HwpxDocument

    document = HwpxDocument.new()
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(len(table), len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.set_cell_text(r, c, value)
    document.save_to_path(str(path))
    return path


@pytest.fixture(scope="module")
def notice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-page HWPX notice: filler on page 1, the application period on page 2."""
    filler = [f"{n}. 이 사업은 중소기업의 디지털 전환을 지원합니다." for n in range(1, 41)]
    return make_hwpx(tmp_path_factory.mktemp("hwpx") / "공고문.hwpx", [*filler, ANSWER])


def jsonl(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_real_hwp_files_are_read_from_their_text_layer_with_no_model(page_store: Path) -> None:
    files = [str(CASES / name) for name in REAL]
    with FakeServer() as server:  # only the pages with no text (an empty layer) go to a model
        proc = run_exaone("ocr", *files, "--text-layer", "prefer", "--format", "jsonl", "--server", server.url)
    assert proc.returncode == 0, proc.stderr
    assert len(server.requests) == 3
    records = jsonl(proc.stdout)  # stdout is the product only: every line parses
    assert [Path(r["source"]).name for r in records] == list(REAL)
    for record, (name, text) in zip(records, REAL.items(), strict=True):
        assert record["page"] == 1 and record["error"] is None
        assert record["text_source"] == ("text-layer" if text else "model"), name
        assert text in record["text"]
        assert record["sha256"] == sha256(CASES / name)  # the document's own hash, not the rendering's
    assert "LAYOUT" not in proc.stderr
    with sqlite3.connect(page_store) as db:  # the page store knows the documents by their own hash
        stored = {row[0] for row in db.execute("SELECT DISTINCT sha256 FROM pages")}
    assert stored == {sha256(CASES / name) for name in REAL}


def test_hwpx_pages_dry_run_and_standard_input(notice: Path) -> None:
    dry = run_exaone("ocr", str(notice), "--dry-run", "--text-layer", "prefer", "--json")
    assert dry.returncode == 0, dry.stderr
    assert "2\t" in dry.stdout or '"page": 2' in dry.stdout
    with notice.open("rb") as stdin:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "exaone_cli",
                "ocr",
                "-",
                "--pages",
                "2",
                "--text-layer",
                "prefer",
                "--format",
                "jsonl",
            ],
            stdin=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert proc.returncode == 0, proc.stderr
    (record,) = jsonl(proc.stdout)
    # Every glyph, digits and full stops too: rhwp draws each page as a form at 1/1000 scale, where
    # PDFium's text layer loses narrow glyphs (pages/hwp.py unscales it).
    assert record["source"] == "<stdin>" and record["page"] == 2 and record["text"] == ANSWER
    assert record["sha256"] == sha256(notice)


def test_a_terminal_sees_rhwp_render_and_the_summary_counts_its_time(notice: Path, tmp_path: Path) -> None:
    """rhwp takes about a second a page and says nothing meanwhile: the spinner says what it
    renders (and keeps turning: rhwp's own output is caught below Python's stderr, not the
    spinner), and "Done ... in N s" counts the rendering, where it said 0.0 s."""
    import re

    from terminal import run_on_terminal

    run = run_on_terminal("ocr", str(notice), "--text-layer", "prefer", stdout="file", tmp=tmp_path, columns=200)
    assert run.returncode == 0, run.text
    drawn = run.raw.decode("utf-8", "replace")
    assert f"Rendering {notice} with rhwp: 2 pages…" in drawn
    assert drawn.count("Rendering") >= 2  # drawn again and again while rhwp works, not frozen
    done = re.search(r"Done: 2 pages, no errors in ([\d.]+) s", run.text)
    assert done is not None, run.text
    assert float(done[1]) >= 0.2  # two pages' rendering, a second or more here (it said 0.0 s)


def test_unscaling_rhwps_page_forms_keeps_every_pixel_and_byte_offset(notice: Path) -> None:
    import pypdfium2 as pdfium
    from PIL import ImageChops

    from exaone_cli.pages.hwp import load_rhwp, quiet_native_output, unscale_page_forms

    with quiet_native_output():
        raw = load_rhwp().parse(str(notice)).render_pdf()
    fixed = unscale_page_forms(raw)
    assert len(fixed) == len(raw) and fixed != raw
    before, after = pdfium.PdfDocument(raw), pdfium.PdfDocument(fixed)
    for number in range(len(before)):
        pixels = before[number].render().to_pil(), after[number].render().to_pil()
        assert ImageChops.difference(*pixels).getbbox() is None
    assert "2026" not in before[1].get_textpage().get_text_range()  # what PDFium made of rhwp's own PDF
    assert "2026" in after[1].get_textpage().get_text_range()


def test_ask_cites_the_rendered_page_of_an_hwpx_notice(notice: Path) -> None:
    def answer(prompt: str) -> str:
        return (
            "신청 기간은 3월 2일부터 3월 31일까지입니다 [p. 2]. \\boxed{3월 2일~3월 31일}"
            if f"[p. 2]\n{ANSWER}" in prompt
            else "없음"
        )

    with DocumentServer(respond=answer) as server:
        proc = run_exaone("ask", "--server", server.url, "--json", "--max-images", "1", str(notice), "신청 기간은?")
    assert proc.returncode == 0, proc.stderr
    body = json.loads(proc.stdout)
    assert body["citations"] == [{"source": str(notice), "page": 2, "label": None}]  # no printed labels
    assert server.transcriptions == 0  # the pages' exact text came from the rendering's text layer


def test_extract_reads_an_hwp_file(tmp_path: Path) -> None:
    from exaone_cli.extract.schema import load_template

    fields = {key: None for key in load_template("receipt").schema["properties"]} | {"상호": "Hello World!", "품목": []}
    with JsonServer(contents=[json.dumps(fields)]) as server:
        proc = run_exaone("extract", str(CASES / "hello_world.hwp"), "--template", "receipt", "--server", server.url)
    assert proc.returncode == 0, proc.stderr
    assert len(server.requests) == 1 and json.loads(proc.stdout)["data"]["상호"] == "Hello World!"


def unrenderable(path: Path) -> Path:
    """An HWPX document rhwp reads but cannot render: its picture is a PNG it cannot decode."""
    from hwpx import HwpxDocument

    document = HwpxDocument.new()
    document.add_paragraph("계약 상대방은 한빛건설 주식회사입니다.")
    document.add_picture(b"\x89PNG\r\n\x1a\n" + b"\x00broken" * 50, "png", width_mm=40, height_mm=40)
    document.add_paragraph("계약 금액은 삼천만 원입니다.")
    document.save_to_path(str(path))
    return path


def test_a_document_rhwp_cannot_render_is_extracted_from_its_text_and_its_pages_go_on(tmp_path: Path) -> None:
    """rhwp's PDF output fails on a picture it cannot decode, where its PNG output draws a grey box:
    `ocr` reads the pages as those pictures (the file was one error record, and the dropped
    document printed a Traceback about an "unsendable" object); `extract` reads its exact text."""
    contract = unrenderable(tmp_path / "계약서.hwpx")
    with FakeServer() as server:
        proc = run_exaone("ocr", str(contract), "--text-layer", "prefer", "--jsonl", "--server", server.url)
    assert proc.returncode == 0, proc.stderr
    (record,) = jsonl(proc.stdout)
    assert (record["page"], record["error"], record["text_source"], record["text_layer"]) == (1, None, "model", "none")
    assert "cannot render its pages (PDF 변환 실패: InvalidImage): its pages are rhwp's pictures" in record["note"]
    assert (record["width"], record["height"]) == (1655, 2339)  # A4 at 200 DPI, as a PDF page would be
    assert f"Warning: {contract}: rhwp read this document but cannot render its pages" in proc.stderr
    assert "Traceback" not in proc.stderr and "unsendable" not in proc.stderr
    assert len(server.requests) == 1

    from exaone_cli.extract.schema import load_template

    answer = {key: None for key in load_template("receipt").schema["properties"]}
    answer |= {"상호": "한빛건설 주식회사", "품목": []}
    with JsonServer(contents=[json.dumps(answer, ensure_ascii=False)]) as server:
        proc = run_exaone("extract", str(contract), "--template", "receipt", "--server", server.url, "--per-page")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["pages"] == [] and result["data"]["상호"] == "한빛건설 주식회사"  # no page numbers
    assert "its text is read instead, without page numbers" in result["note"]
    assert f"{contract}: rhwp read this document but cannot render its pages" in proc.stderr
    assert "its text is read instead, without page numbers" in proc.stderr
    [request] = server.requests
    parts = request["messages"][-1]["content"]
    assert [part["type"] for part in parts] == ["text"]  # no page images
    assert "계약 상대방은 한빛건설 주식회사입니다." in parts[0]["text"] and "삼천만 원" in parts[0]["text"]


def test_ask_reads_a_document_rhwp_cannot_render_as_its_text_and_cites_the_file(tmp_path: Path) -> None:
    contract = unrenderable(tmp_path / "계약서.hwpx")
    hello = CASES / "hello_world.hwp"

    def answer(prompt: str) -> str:
        whole = "[A p. 1] (no page numbers: the whole document's text, cite it as this page)\n"
        assert f"{whole}계약 상대방은 한빛건설 주식회사입니다." in prompt and "[B p. 1]\nHello World!" in prompt
        return "상대방은 한빛건설 주식회사입니다 [A p. 1]; 인사말은 Hello World! [B p. 1]. \\boxed{한빛건설}"

    with DocumentServer(respond=answer) as server:
        proc = run_exaone("ask", "--server", server.url, "--json", str(contract), str(hello), "계약 상대방은?")
    assert proc.returncode == 0, proc.stderr
    body = json.loads(proc.stdout)
    assert body["citations"] == [
        {"source": str(contract), "page": None, "label": None},  # the file, not a page
        {"source": str(hello), "page": 1, "label": None},
    ]
    read = {(page["source"], page["page"], page["text_source"]) for page in body["pages_read"]}
    assert read == {(str(contract), None, "document-text"), (str(hello), 1, "text-layer")}
    assert (
        f"{contract}: rhwp read this document but cannot render its pages (PDF 변환 실패: InvalidImage)" in proc.stderr
    )
    assert "its text is read instead, without page numbers" in proc.stderr and "Traceback" not in proc.stderr
    assert len(server.questions) == 1 and server.transcriptions == 0


def test_hwp_is_recognised_by_content_and_other_office_files_are_named(tmp_path: Path) -> None:
    renamed = tmp_path / "scan.pdf"  # an HWP file under another name is still an HWP file
    shutil.copy(CASES / "hello_world.hwp", renamed)
    docx = tmp_path / "보고서.hwpx"
    with zipfile.ZipFile(docx, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    doc = tmp_path / "letter.hwp"
    doc.write_bytes(_renamed_stream(CASES / "hello_world.hwp", "FileHeader", "WordDocument"))
    truncated = tmp_path / "cut.hwp"
    truncated.write_bytes((CASES / "hello_world.hwp").read_bytes()[:9000])
    hwp3 = tmp_path / "old.hwp"
    hwp3.write_bytes(b"HWP Document File V3.00 \x1a\x01\x02\x03\x04\x05" + bytes(100))
    files = [str(renamed), str(docx), str(doc), str(hwp3), str(truncated)]
    proc = run_exaone("ocr", *files, "--text-layer", "prefer", "--format", "jsonl")
    assert proc.returncode == 1
    good, docx_record, doc_record, hwp3_record, cut_record = jsonl(proc.stdout)
    assert cut_record["error"].startswith(f"{truncated}: a damaged HWP 5.0 document")
    assert hwp3_record["error"].startswith(f"{hwp3}: an HWP 3.x document (Hangul 97 and older)")
    assert good["text"] == "Hello World!"
    assert (
        docx_record["error"] == f"{docx}: a Word document (DOCX), which exaone does not read"
        and docx_record["hint"] == "save or print it as a PDF and pass that"
    )
    assert doc_record["error"].startswith(f"{doc}: a Word 97-2003 document (DOC), which exaone does not read")


def test_an_hwp_file_cut_short_is_said_to_be_damaged_not_another_kind_of_file(tmp_path: Path) -> None:
    """Cut before its directory (a download that stopped), an HWP file was "an OLE2 compound file
    (not HWP 5.0), which exaone does not read" and an HWPX file "a damaged ZIP archive", each with
    the hint to save it as a PDF; cut anywhere, it is damaged, and the hint is to get the whole file."""
    data = (CASES / "hello_world.hwp").read_bytes()
    cuts = []
    for size in (600, 1500, 3000):
        cut = tmp_path / f"cut{size}.hwp"
        cut.write_bytes(data[:size])
        cuts.append(str(cut))
    hwpx = make_hwpx(tmp_path / "공고.hwpx", ["신청 기간은 3월 31일까지입니다."]).read_bytes()
    for size in (200, len(hwpx) // 2):
        cut = tmp_path / f"cut{size}.hwpx"
        cut.write_bytes(hwpx[:size])
        cuts.append(str(cut))
    proc = run_exaone("ocr", *cuts, "--text-layer", "prefer", "--format", "jsonl")
    assert proc.returncode == 1
    records = jsonl(proc.stdout)
    assert [r["error"].startswith(f"{name}: a damaged or truncated HWPX document") for name, r in
            zip(cuts[-2:], records[-2:], strict=True)] == [True, True]  # fmt: skip
    for name, record in zip(cuts, records, strict=True):
        assert record["error"].startswith(f"{name}: a damaged"), record["error"]
        assert "which exaone does not read" not in record["error"]
        assert record["hint"] == "check that it was saved or downloaded completely"


def _renamed_stream(path: Path, old: str, new: str) -> bytes:
    """An OLE2 file with one directory entry renamed (the name and its length; the tree order is
    not checked by readers): a DOC-shaped file made from a real HWP one."""
    data = bytearray(path.read_bytes())
    at = data.index(old.encode("utf-16-le") + b"\0\0")
    name = new.encode("utf-16-le") + b"\0\0"
    data[at : at + 64] = name.ljust(64, b"\0")
    struct.pack_into("<H", data, at + 64, len(name))
    return bytes(data)


def test_without_the_extra_an_hwp_file_is_exit_3_with_the_install_line() -> None:
    code = "import sys; sys.modules['rhwp'] = None; from exaone_cli.cli import main; main()"
    proc = subprocess.run(
        [sys.executable, "-c", code, "ocr", str(CASES / "hello_world.hwp"), "--text-layer", "prefer"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 3 and proc.stdout == ""
    assert "needs rhwp-python, which is not installed" in proc.stderr and "pip install '.[hwp]'" in proc.stderr


def test_rhwp_loads_after_the_system_freetype_and_says_which_package_without_one() -> None:
    """rhwp's wheel needs a newer FreeType than it bundles (FT_Palette_Data_Get): exaone loads the
    system one first. Without one, the error names the Debian package."""
    loads = "from exaone_cli.pages.hwp import load_rhwp; print(load_rhwp().version())"
    assert subprocess.run([sys.executable, "-c", loads], capture_output=True, text=True, timeout=60).returncode == 0
    without = textwrap.dedent("""
        import ctypes.util
        from exaone_cli.errors import EngineError
        from exaone_cli.pages import hwp
        hwp.FREETYPE_NAMES = ()
        ctypes.util.find_library = lambda name: None
        try:
            hwp.load_rhwp()
        except EngineError as exc:
            print(exc.message, "|", exc.hint)
    """)
    proc = subprocess.run([sys.executable, "-c", without], capture_output=True, text=True, timeout=60)
    assert "needs the system FreeType library" in proc.stdout and "libfreetype6" in proc.stdout


def test_with_only_nanum_fonts_blank_pages_are_refused_naming_the_font_package(tmp_path: Path, notice: Path) -> None:
    conf = tmp_path / "fonts.conf"
    conf.write_text(NANUM_ONLY.format(cache=tmp_path / "fc-cache"))
    env = {"FONTCONFIG_FILE": str(conf)}
    proc = run_exaone("ocr", str(notice), "--text-layer", "prefer", "--format", "jsonl", env=env)
    assert proc.returncode == 1
    (record,) = jsonl(proc.stdout)
    assert record["page"] is None and "rendered without its text" in record["error"]
    assert "fonts-noto-cjk" in record["hint"] and "fonts-noto-cjk" in proc.stderr
    # rhwp's pictures of the pages of a document it cannot render as a PDF would be blank too
    contract = unrenderable(tmp_path / "계약서.hwpx")
    proc = run_exaone("ocr", str(contract), "--format", "jsonl", env=env)
    (record,) = jsonl(proc.stdout)
    assert record["page"] is None and "no font with Korean glyphs was found" in record["error"]
    assert "fonts-noto-cjk" in record["hint"]
    doctor = run_exaone("doctor", "--json", env=env)
    assert json.loads(doctor.stdout)["machine"]["hwp"]["korean_text"] is False
    assert json.loads(run_exaone("doctor", "--json").stdout)["machine"]["hwp"]["korean_text"] is True


def test_native_debug_lines_never_reach_stdout_or_stderr() -> None:
    """rhwp's Rust code prints LAYOUT_OVERFLOW lines to the process's descriptors 1 and 2,
    beneath Python's sys.stdout: they are caught at the descriptor level, while what Python
    itself writes meanwhile (the spinner on stderr) still gets through."""
    script = textwrap.dedent("""
        import os, sys
        from exaone_cli.pages.hwp import quiet_native_output
        with quiet_native_output():
            os.write(1, b"LAYOUT_OVERFLOW: page=1\\n")
            os.write(2, b"LAYOUT_OVERFLOW_DRAW: line=3\\n")
            print("Rendering 공고문.hwpx", file=sys.stderr)
        print("product")
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert (proc.stdout, proc.stderr) == ("product\n", "Rendering 공고문.hwpx\n")


def test_a_distribution_documents_stub_is_never_passed_off_as_its_text(tmp_path: Path) -> None:
    stub = make_hwpx(
        tmp_path / "배포.hwpx",
        ["이 문서는 상위 버전의 배포용 문서입니다. 문서를 읽으려면 최신 버전의 한글 또는 한글 뷰어가 필요합니다."],
    )
    proc = run_exaone("ocr", str(stub), "--text-layer", "prefer", "--format", "jsonl")
    assert proc.returncode == 1
    (record,) = jsonl(proc.stdout)
    assert "distribution document (배포용 문서) whose body could not be decrypted" in record["error"]


def distribution_document(source: Path, path: Path) -> Path:
    """A distribution document (배포용 문서) made from a real HWP file the way Hangul writes one:
    the FileHeader's distribution bit set, BodyText renamed ViewText, and each section stream a
    DISTRIBUTE_DOC_DATA record (256 bytes masked by MSVC's rand(), holding the AES key) followed
    by the compressed section encrypted with AES-128-ECB. olefile cannot grow a stream, so the
    section takes over PrvImage's sectors (the preview picture, larger) and PrvImage the old ones."""
    import olefile
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    shutil.copy(source, path)
    with olefile.OleFileIO(str(path)) as ole:
        section, preview = ole.openstream("BodyText/Section0").read(), ole.get_size("PrvImage")
    key, seed = bytes(range(1, 17)), 7
    meta = bytearray(seed.to_bytes(4, "little") + bytes(252))
    meta[4 + (seed & 0xF) : 20 + (seed & 0xF)] = key
    number = 0
    for i in range(256):  # the mask: a byte and a run length from each two rand() draws
        if number == 0:
            seed = (seed * 214013 + 2531011) & 0xFFFFFFFF
            value = (seed >> 16) & 0xFF
            seed = (seed * 214013 + 2531011) & 0xFFFFFFFF
            number = ((seed >> 16) & 0xF) + 1
        meta[i] ^= value if i >= 4 else 0
        number -= 1
    size = 260 + 16 * 240  # 4,100 bytes: a stream of 4 KiB or more lives in PrvImage's big sectors
    cipher = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    encrypted = cipher.update(section.ljust(size - 260, b"\0")) + cipher.finalize()
    view = struct.pack("<I", 28 | 256 << 20) + bytes(meta) + encrypted  # HWPTAG_DISTRIBUTE_DOC_DATA
    with olefile.OleFileIO(str(path), write_mode=True) as ole:
        ole.write_stream("PrvImage", view.ljust(preview, b"\0"))
        header = bytearray(ole.openstream("FileHeader").read())
        struct.pack_into("<I", header, 36, struct.unpack_from("<I", header, 36)[0] | 0x04)
        ole.write_stream("FileHeader", bytes(header))
    data = bytearray(_renamed_stream(path, "BodyText", "ViewText"))
    body, picture = (data.index(name.encode("utf-16-le") + b"\0\0") + 116 for name in ("Section0", "PrvImage"))
    old_start = data[body : body + 4]
    data[body : body + 8] = data[picture : picture + 4] + struct.pack("<I", size)  # start sector, size
    data[picture : picture + 4] = old_start
    path.write_bytes(bytes(data))
    return path


def test_a_distribution_document_is_decrypted_and_read_like_any_other(tmp_path: Path) -> None:
    import olefile

    document = distribution_document(CASES / "hello_world.hwp", tmp_path / "배포용.hwp")
    with olefile.OleFileIO(str(document)) as ole:  # what makes it one: no BodyText, only ViewText
        assert not ole.exists("BodyText/Section0") and ole.exists("ViewText/Section0")
    proc = run_exaone("ocr", str(document), "--text-layer", "prefer", "--jsonl")
    assert proc.returncode == 0, proc.stderr
    (record,) = jsonl(proc.stdout)
    assert (record["text"], record["text_source"], record["page"]) == ("Hello World!", "text-layer", 1)
    assert record["sha256"] == sha256(document)

    with FakeServer() as server:  # one page: it goes to the model as the rendered page's image
        proc = run_exaone("ask", "--server", server.url, "--json", str(document), "무엇이 쓰여 있나?")
    assert proc.returncode == 0, proc.stderr
    assert [(image["source"], image["page"]) for image in json.loads(proc.stdout)["images"]] == [(str(document), 1)]
    [request] = server.requests
    assert [part["type"] for part in request["messages"][-1]["content"]] == ["image_url", "text"]


@pytest.mark.parametrize(
    ("bit", "says"),
    [(0x02, "protected by a password"), (0x04, "a distribution document (배포용 문서) that rhwp could not decrypt")],
)
def test_documents_that_cannot_be_decrypted_are_one_clear_error(tmp_path: Path, bit: int, says: str) -> None:
    import olefile

    path = tmp_path / "locked.hwp"
    shutil.copy(CASES / "hello_world.hwp", path)
    with olefile.OleFileIO(str(path), write_mode=True) as ole:
        header = bytearray(ole.openstream("FileHeader").read())
        struct.pack_into("<I", header, 36, struct.unpack_from("<I", header, 36)[0] | bit)
        ole.write_stream("FileHeader", bytes(header))
    proc = run_exaone("ocr", str(path), "--text-layer", "prefer")
    assert proc.returncode == 1 and proc.stdout.count("error") == 1
    assert says in proc.stderr and "Traceback" not in proc.stderr
    assert os.path.getsize(path) > 0


TABLE = [
    ["구분", "지원 대상", "지원 금액", "기간"],
    ["창업기업", "업력 3년 이내", "5,000만원", "최대 2년"],
    ["중소기업", "매출 100억 이하", "3,000만원", "1년"],
]


def test_tables_come_out_as_markdown_tables_from_the_documents_own_grid(tmp_path: Path) -> None:
    """The text layer gives a table's rows as lines of space-joined cells ("업력 3년 이내" is one
    cell or three?, "02- 123- 4567"); the document's own grid is exact."""
    from hwpx import HwpxDocument

    document = HwpxDocument.new()
    document.add_paragraph("2026년 창업지원사업 지원 내용")
    grid = document.add_table(len(TABLE), 4, height=len(TABLE) * 2400)
    for r, row in enumerate(TABLE):
        for c, value in enumerate(row):
            grid.set_cell_text(r, c, value)
    merged = document.add_table(2, 3, height=2 * 2400)
    merged.set_cell_text(0, 0, "항목")
    merged.set_cell_text(0, 1, "내용")
    merged.merge_cells(0, 1, 0, 2)
    for c, value in enumerate(["문의", "사업지원팀", "02-123-4567"]):
        merged.set_cell_text(1, c, value)
    document.add_paragraph("끝.")
    path = tmp_path / "표.hwpx"
    document.save_to_path(str(path))
    proc = run_exaone("ocr", str(path), "--text-layer", "prefer", "-f", "markdown")
    assert proc.returncode == 0, proc.stderr
    expected = "\n".join(["| " + " | ".join(row) + " |" for row in TABLE[:1]] + ["| --- | --- | --- | --- |"])
    expected += "\n" + "\n".join("| " + " | ".join(row) + " |" for row in TABLE[1:])
    assert f"2026년 창업지원사업 지원 내용\n\n{expected}\n\n<table>" in proc.stdout
    assert '<td colspan="2">내용</td>' in proc.stdout and "<td>02-123-4567</td>" in proc.stdout
    assert proc.stdout.rstrip().endswith("</table>\n\n끝.")


def test_a_page_rhwp_lays_out_wrongly_is_not_handed_out_as_exact_text(tmp_path: Path) -> None:
    """A table whose row heights the file leaves to Hangul: rhwp collapses the rows onto each other
    and pdfium reads letters of different cells interleaved ("구창중분업소기기업업"), every one of
    them visible. The layer was `good` and `--text-layer prefer` printed that as the page's exact
    text; the document's own text shows it is not, so the page goes to the model."""
    document = make_hwpx(tmp_path / "지원표.hwpx", ["머리말"], TABLE)
    with FakeServer() as server:
        proc = run_exaone("ocr", str(document), "--text-layer", "prefer", "--jsonl", "--server", server.url)
    assert proc.returncode == 0, proc.stderr
    (record,) = jsonl(proc.stdout)
    assert (record["text_layer"], record["text_source"]) == ("garbled", "model")
    assert len(server.requests) == 1
    dry = run_exaone("ocr", str(document), "--text-layer", "prefer", "--dry-run")
    assert "garbled\tonly 15% of the rendered text is in the document's own order" in dry.stdout


def test_numbers_outside_tables_read_without_the_spaces_pdfium_invents_and_real_spaces_stay(
    tmp_path: Path,
) -> None:
    """rhwp draws each glyph where Hangul's layout puts it, a hyphen narrower than its cell, and
    pdfium read the slack after it as a space: "02- 123- 4567", "2026- 03- 02". The document's
    own text says which spaces are there: " - " between words and "1. " stay."""
    lines = [
        "문의: 02-123-4567, 010-9876-5432 (접수 2026-03-02)",
        "범위: 3 - 5쪽, A-B 구간, 합계 12,500원 - 할인 1,000원",
        "1. 첫째 항목은 2.5%입니다.",
    ]
    document = make_hwpx(tmp_path / "안내문.hwpx", lines)
    proc = run_exaone("ocr", str(document), "--text-layer", "prefer", "--jsonl")
    assert proc.returncode == 0, proc.stderr
    (record,) = jsonl(proc.stdout)
    assert (record["text_source"], record["text"]) == ("text-layer", "\n".join(lines))


def test_only_spaces_the_documents_text_never_has_are_taken_out() -> None:
    from exaone_cli.pages.hwp_spaces import drop_invented_spaces

    document = "전화 02-123-4567\n구간 A - B와 A-B\n"
    pages = ["전화 02- 123- 4567", "구간 A - B와 A- B", "- 3 -", "전화  02- 123"]
    # "A - B" is in the document as written, so its spaces stay wherever "A-B" is too; a page
    # number the document does not hold, and a double space, are left as pdfium read them.
    assert drop_invented_spaces(pages, document) == ["전화 02-123-4567", "구간 A - B와 A-B", "- 3 -", "전화  02-123"]
    assert drop_invented_spaces(pages, "") == pages


def test_a_table_not_found_whole_on_a_page_is_left_as_the_layer_gives_it() -> None:
    from exaone_cli.pages.hwp_tables import Table, place_tables

    pages = ["머리말\n구분 금액\n창업 5,000", "구분 금\n창업 액"]
    tables = [Table("구분 금액 창업 5,000", "| 구분 | 금액 |"), Table("없는 표", "| 없는 |")]
    assert place_tables(pages, tables) == {1: "머리말\n\n| 구분 | 금액 |"}


def test_the_benchmark_reads_every_character_pdftotext_finds(tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "hwp.json"
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run(
        [sys.executable, str(root / "benchmarks/hwp.py"), "--model", str(tiny_model), "--paragraphs", "30",
         "--model-pages", "1", "--repeats", "1", "--json", str(out)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    prefer, pdftotext, model = json.loads(out.read_text())["rows"]
    assert prefer["characters"] == pdftotext["characters"] > 0 and prefer["tables_as_markdown"] == 3
    assert model["pages"] == 1


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_rhwp_renders_ends_the_run_at_once(tmp_path: Path, signum: int) -> None:
    """rhwp lays out the whole document in one native call (about a second a page here), and
    Python runs no signal handler until it returns: Ctrl-C on a 75-page document took 88 s. The
    call runs in its own thread now; the signal ends the run in moments, with exit code 130 and
    none of rhwp's debug lines on stdout."""
    import time

    paragraph = "이 사업은 중소기업의 디지털 전환을 지원합니다. 신청은 온라인으로 받습니다. " * 12
    big = make_hwpx(tmp_path / "big.hwpx", [f"{n}. {paragraph}" for n in range(1, 121)])  # 40 pages
    err = tmp_path / "stderr.txt"
    with err.open("w") as stderr_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "exaone_cli", "ocr", str(big), "--text-layer", "prefer", "--jsonl", "--no-cache"],
            stdout=subprocess.PIPE, stderr=stderr_file, text=True,
        )  # fmt: skip
        time.sleep(6)  # started, parsed, rendering (a minute and more of it)
        assert proc.poll() is None, err.read_text()
        proc.send_signal(signum)
        try:
            stdout, _ = proc.communicate(timeout=30)
        finally:
            proc.kill()
    stderr = err.read_text()
    assert proc.returncode == 130, stderr
    assert "Interrupted" in stderr and "Traceback" not in stderr
    assert stdout == ""
