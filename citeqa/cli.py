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
    full: Annotated[bool, typer.Option("--full", help="re-embed every document, not only changed ones")] = False,
) -> None:
    """Build or update the index of the corpus (only changed documents are re-embedded)."""
    from citeqa.index.builder import build_index
    from citeqa.index.documents import CorpusError
    from citeqa.index.embedder import Embedder

    settings = Settings()
    try:
        report = build_index(settings.index_config(), Embedder(settings.model, settings.embed_batch_size), full=full, progress=sys.stderr.isatty())
    except (CorpusError, ValueError) as exc:
        fail(str(exc))
    typer.echo(
        f"indexed {len(report.embedded) + len(report.reused)} documents "
        f"({len(report.embedded)} embedded, {len(report.reused)} unchanged, {len(report.dropped)} dropped): "
        f"{report.chunks} chunks, {report.sentences} sentences in {report.seconds:.1f}s -> {settings.index_dir}"
    )


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


@app.command()
def ask(
    question: str,
    mode: Annotated[
        str | None,
        typer.Option(help="extractive, or generative (needs CITEQA_LLM_BASE_URL); default: $CITEQA_ANSWER_MODE"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the Answer as JSON")] = False,
) -> None:
    """Answer QUESTION from the corpus, every sentence cited and checked, or say it is not in the corpus."""
    from citeqa.service.engine import Engine
    from citeqa.service.models import text_problem

    if mode not in (None, "extractive", "generative"):
        fail(f"unknown mode {mode!r}; use extractive or generative", code=2)
    settings = Settings()
    if not question.strip():
        fail("the question is empty", code=2)
    if problem := text_problem(question):
        fail(f"the question {problem}", code=2)
    if len(question) > settings.max_question_chars:
        fail(f"the question is longer than {settings.max_question_chars} characters; shorten it", code=2)
    retriever = open_retriever(settings)
    answer = Engine(settings, retriever).answer(question, mode=mode)
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
