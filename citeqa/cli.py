"""The `citeqa` command: thin wrappers over the same public functions the API and the evals use."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from citeqa.settings import Settings

app = typer.Typer(help="Citation-checked question answering over a document corpus.", no_args_is_help=True)


def fail(message: str, code: int = 1) -> None:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def open_retriever(settings: Settings):
    from citeqa.index.embedder import Embedder
    from citeqa.index.retriever import Retriever
    from citeqa.index.store import IndexProblem

    try:
        retriever = Retriever.open(settings.index_config(), Embedder(settings.model, settings.embed_batch_size))
    except IndexProblem as exc:
        fail(str(exc))
    if retriever.stale:
        typer.secho(
            f"warning: the index is stale ({'; '.join(retriever.stale)}); run `citeqa index` to update it",
            err=True,
            fg=typer.colors.YELLOW,
        )
    return retriever


@app.command("index")
def index_command(
    corpus: Annotated[
        str | None, typer.Argument(help="the corpus folder (default: $CITEQA_CORPUS_DIR, else ./corpus)")
    ] = None,
    full: Annotated[bool, typer.Option("--full", help="re-embed every document, not only changed ones")] = False,
) -> None:
    """Build or update the index of the corpus (only changed documents are re-embedded)."""
    from pathlib import Path

    from citeqa.index.builder import build_index
    from citeqa.index.documents import CorpusError
    from citeqa.index.embedder import Embedder

    settings = Settings()
    if corpus is not None:
        if not Path(corpus).is_dir():
            fail(f"{corpus} is not a folder; name the folder that holds the corpus's .txt/.md files", code=2)
        settings = settings.model_copy(update={"corpus_dir": Path(corpus)})
    try:
        report = build_index(settings.index_config(), Embedder(settings.model, settings.embed_batch_size), full=full, progress=sys.stderr.isatty())
    except (CorpusError, ValueError) as exc:
        fail(str(exc))
    typer.echo(
        f"indexed {len(report.embedded) + len(report.reused)} documents "
        f"({len(report.embedded)} embedded, {len(report.reused)} unchanged, {len(report.dropped)} dropped): "
        f"{report.chunks} chunks, {report.sentences} sentences in {report.seconds:.1f}s -> {settings.index_dir}"
    )
    if corpus is not None:
        typer.echo(f"serve it with: CITEQA_CORPUS_DIR={corpus} citeqa serve")


@app.command()
def search(
    query: str,
    k: Annotated[int | None, typer.Option("-k", min=1, max=100, help="number of passages (default: $CITEQA_TOP_K)")] = None,
    mode: Annotated[str | None, typer.Option(help="hybrid, dense or bm25 (default: $CITEQA_RETRIEVAL_MODE)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Retrieve the passages that best match QUERY."""
    from citeqa.service.models import SearchResponse, SearchResult, text_problem
    from citeqa.service.search import search_passages

    if mode not in (None, "hybrid", "dense", "bm25"):
        fail(f"unknown mode {mode!r}; use hybrid, dense or bm25", code=2)
    if not query.strip():
        fail("the query is empty", code=2)
    if problem := text_problem(query):
        fail(f"the query {problem}", code=2)
    settings = Settings()
    retriever = open_retriever(settings)
    passages = search_passages(retriever, query, k=k or settings.top_k, mode=mode or settings.retrieval_mode)
    if as_json:
        results = [SearchResult(**p.model_dump(exclude={"title"})) for p in passages]
        typer.echo(SearchResponse(query=query, results=results).model_dump_json(indent=2))
        return
    for rank, p in enumerate(passages, start=1):
        typer.secho(f"{rank}. {p.title}  [{p.doc_id} {p.start}:{p.end}]  score {p.score:.4f}", bold=True)
        if p.heading:
            typer.echo(f"   § {p.heading}")
        typer.echo("   " + p.text.replace("\n", "\n   "))
        typer.echo()


class ServerRefused(Exception):
    """The server answered a question with an error status: `ask` stops on it, `chat` prints it and goes on."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class AskServer:
    """Questions asked of a running `citeqa serve` over HTTP: no model load per call."""

    def __init__(self, url: str, settings: Settings) -> None:
        import httpx

        headers = {"Authorization": f"Bearer {settings.api_keys()[0]}"} if settings.api_keys() else {}
        self.url = url.rstrip("/")
        self.client = httpx.Client(base_url=self.url, headers=headers, timeout=settings.request_deadline_s + 10)

    def __call__(self, question: str, mode: str | None, max_sentences: int | None):
        import httpx

        from citeqa.service.models import Answer

        body = {"question": question, "mode": mode, "max_sentences": max_sentences}
        try:
            response = self.client.post("/v1/ask", json=body)
        except httpx.TransportError as exc:
            fail(f"cannot reach a citeqa server at {self.url} ({exc}); start one with `citeqa serve`, or leave out --url")
        if response.status_code != 200:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:300]
            raise ServerRefused(f"the server at {self.url} answered {response.status_code}: {message}", response.status_code)
        return Answer.model_validate_json(response.content)


def answerer(settings: Settings, url: str | None):
    """question -> Answer: over HTTP when a server is named, else from an engine loaded here (once)."""
    if url:
        return AskServer(url, settings)
    from citeqa.service.engine import Engine

    engine = Engine(settings, open_retriever(settings))
    return lambda question, mode, max_sentences: engine.answer(question, mode=mode, max_sentences=max_sentences)


def question_problem(question: str, settings: Settings) -> str | None:
    from citeqa.service.models import text_problem

    if not question.strip():
        return "the question is empty"
    if problem := text_problem(question):
        return f"the question {problem}"
    if len(question) > settings.max_question_chars:
        return f"the question is longer than {settings.max_question_chars} characters; shorten it"
    return None


MODE_HELP = "extractive, or generative (needs CITEQA_LLM_BASE_URL); default: $CITEQA_ANSWER_MODE"
URL_HELP = "ask a running `citeqa serve` at this address (e.g. http://127.0.0.1:8000) instead of loading the model"
MAX_SENTENCES_HELP = "most sentences in the answer (default: $CITEQA_MAX_ANSWER_SENTENCES)"


def check_options(mode: str | None) -> None:
    if mode not in (None, "extractive", "generative"):
        fail(f"unknown mode {mode!r}; use extractive or generative", code=2)


@app.command()
def ask(
    question: str,
    mode: Annotated[str | None, typer.Option(help=MODE_HELP)] = None,
    max_sentences: Annotated[int | None, typer.Option("--max-sentences", min=1, max=10, help=MAX_SENTENCES_HELP)] = None,
    url: Annotated[str | None, typer.Option("--url", help=URL_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the Answer as JSON")] = False,
) -> None:
    """Answer QUESTION from the corpus, every sentence cited and checked, or say it is not in the corpus."""
    check_options(mode)
    settings = Settings()
    if problem := question_problem(question, settings):
        fail(problem, code=2)
    try:
        answer = answerer(settings, url)(question, mode, max_sentences)
    except ServerRefused as exc:
        fail(str(exc), code=2 if exc.status < 500 else 1)
    print_answer(answer, as_json)


@app.command()
def chat(
    mode: Annotated[str | None, typer.Option(help=MODE_HELP)] = None,
    max_sentences: Annotated[int | None, typer.Option("--max-sentences", min=1, max=10, help=MAX_SENTENCES_HELP)] = None,
    url: Annotated[str | None, typer.Option("--url", help=URL_HELP)] = None,
) -> None:
    """Ask question after question, one per line (the model is loaded once); an empty line, `exit` or Ctrl-D ends."""
    check_options(mode)
    settings = Settings()
    ask_one = answerer(settings, url)
    interactive = sys.stdin.isatty()
    while True:
        try:
            question = input("? " if interactive else "")
        except EOFError:
            break
        if question.strip().lower() in ("", "exit", "quit"):
            break
        if problem := question_problem(question, settings):
            typer.secho(f"error: {problem}", err=True, fg=typer.colors.RED)
            continue
        if not interactive:
            typer.secho(f"? {question}", bold=True)
        try:
            print_answer(ask_one(question, mode, max_sentences), as_json=False)
        except ServerRefused as exc:  # one refused question (a rate limit, a busy server) does not end the chat
            typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)


def print_answer(answer, as_json: bool) -> None:
    if as_json:
        typer.echo(answer.model_dump_json(indent=2))
        return
    if answer.abstained:
        for c in answer.corrections:  # an answer says so itself; a refusal names them here
            typer.secho(f"(reading '{c.original}' as '{c.corrected}')", dim=True)
        typer.secho("Not in the corpus.", bold=True, fg=typer.colors.YELLOW)
        typer.echo(answer.reason or "")
        if answer.related:
            typer.echo("\nClosest passages (not an answer):")
            for p in answer.related[:3]:
                typer.echo(f"  - {p.title} [{p.doc_id} {p.start}:{p.end}]: {p.text[:160].replace(chr(10), ' ')}…")
        return
    if answer.short_answer:  # the asked-for fact first, with the citation that holds it
        typer.secho(f"{answer.short_answer.text} [{answer.short_answer.citation}]", bold=True)
        typer.echo()
    typer.echo(answer.answer)
    if answer.mode != "extractive":
        typer.secho(f"(mode: {answer.mode}{'; ' + answer.reason if answer.reason else ''})", dim=True)
    for conflict in answer.conflicts:
        values = " vs ".join(f"{v.value} {''.join(f'[{n}]' for n in v.citations)}" for v in conflict.values)
        typer.secho(f"Sources disagree on {conflict.topic}: {values}", fg=typer.colors.YELLOW)
    typer.echo()
    for c in answer.citations:
        typer.secho(f"[{c.n}] {c.title} — {c.publisher or 'publisher unknown'}  ({c.doc_id} {c.start}:{c.end})", bold=True)
        typer.echo(f"    “{c.quote}”")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="interface to listen on (default: $CITEQA_HOST, else 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(min=0, max=65535, help="port (default: $CITEQA_PORT, else 8000)")] = None,
) -> None:
    """Start the HTTP API and the web chat (loads the model and the index once)."""
    import uvicorn

    from citeqa.service.http.app import create_app

    settings = Settings()
    host = host or settings.host
    port = settings.port if port is None else port
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"citeqa: loading, then serving the web chat at http://{shown}:{port}/ and the API docs at http://{shown}:{port}/docs")
    if not settings.api_keys() and not is_loopback(host):
        typer.echo(f"citeqa: WARNING: listening on {host} without an API key: anyone who can reach this port can use "
                   "the API and read /metrics; set CITEQA_API_KEY", err=True)
    uvicorn.run(
        create_app(settings), host=host, port=port, log_level="info", log_config=serve_log_config(),
        # h11, not httptools: only h11 bounds the size of a request's headers (larger ones get 400)
        http="h11", h11_max_incomplete_event_size=settings.max_header_bytes, timeout_keep_alive=settings.keep_alive_s,
    )


def is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def serve_log_config() -> dict:
    """uvicorn's logging setup plus the `citeqa` logger on its console handler, so the service's own INFO and
    WARNING records (model processes, a stale index) show beside uvicorn's."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["citeqa"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


@app.command("eval")
def eval_command(
    set_file: Annotated[str | None, typer.Option("--set", help="question set (JSONL); default eval/questions.jsonl")] = None,
    name: Annotated[str | None, typer.Option("--name", help="report name: writes NAME.json/.md/.png in the --out folder")] = None,
    compare: Annotated[bool, typer.Option("--compare", help="compare dense/bm25/hybrid over chunk sizes 400-1000")] = False,
    beir: Annotated[str | None, typer.Option("--beir", help="BEIR dataset folder (corpus.jsonl, queries.jsonl, qrels/test.tsv)")] = None,
    scifact: Annotated[str | None, typer.Option("--scifact", help="SciFact folder in the original format (claims_dev.jsonl)")] = None,
    work_dir: Annotated[str | None, typer.Option("--work-dir", help="keep benchmark indexes here and reuse them")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="only the first N questions / claims")] = None,
    split: Annotated[str, typer.Option("--split", help="dev, test or all (each part reported beside the whole)")] = "all",
    out: Annotated[str | None, typer.Option("--out", help="folder the reports go to (default ./eval/reports)")] = None,
    compare_runs: Annotated[tuple[str, str] | None, typer.Option(
        "--compare-runs", metavar="A B", help="compare two saved runs (report .json paths or names in the --out "
        "folder) with a paired significance test per figure, over their questions of --split; runs nothing")] = None,
) -> None:
    """Evaluate retrieval and answers on the question set, or on a BEIR / SciFact benchmark, and write a report;
    or compare two saved runs (--compare-runs)."""
    from pathlib import Path

    from citeqa.eval.run import run
    from citeqa.index.documents import CorpusError
    from citeqa.index.store import IndexProblem

    for label, folder in (("--beir", beir), ("--scifact", scifact), ("--set", set_file)):
        if folder and not Path(folder).exists():
            fail(f"{label} {folder} does not exist", code=2)
    if split not in ("all", "dev", "test"):
        fail(f"--split {split}: use dev, test or all", code=2)
    if out and Path(out).exists() and not Path(out).is_dir():
        fail(f"--out {out} is a file; name a folder (it is created when missing)", code=2)
    if compare_runs:
        from citeqa.eval.compare_runs import run_compare_runs

        extra = [flag for flag, given in (("--set", set_file), ("--compare", compare), ("--beir", beir),
                                          ("--scifact", scifact), ("--work-dir", work_dir), ("--limit", limit))
                 if given]
        if extra:
            fail(f"--compare-runs compares saved reports and runs nothing; drop {', '.join(extra)}", code=2)
        try:
            run_compare_runs(*compare_runs, reports_dir=Path(out) if out else None, name=name, split=split,
                             echo=typer.echo)
        except ValueError as exc:
            fail(str(exc), code=2)
        return
    try:
        run(
            Settings(), set_file=Path(set_file) if set_file else None, name=name, compare=compare,
            beir=Path(beir) if beir else None, scifact=Path(scifact) if scifact else None,
            work_dir=Path(work_dir) if work_dir else None, limit=limit, split=split,
            reports_dir=Path(out) if out else None, progress=sys.stderr.isatty(), echo=typer.echo,
        )
    except (IndexProblem, CorpusError, FileNotFoundError, ValueError) as exc:
        fail(str(exc))


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
