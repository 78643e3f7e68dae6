"""The ledger's SQLite schema as migrations, applied in order and recorded by name (like
`llm`'s logs.db): a ledger made by any earlier version is brought up to date in place,
and a migration once released is never edited, only followed by a new one."""

MIGRATIONS: list[tuple[str, str]] = [
    (
        "001_initial",
        """
        CREATE TABLE runs (
            run_id TEXT PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT,
            task TEXT NOT NULL, repo TEXT NOT NULL, policy TEXT NOT NULL,
            status TEXT NOT NULL, settings_json TEXT NOT NULL, model_hashes_json TEXT NOT NULL
        );
        CREATE TABLE calls (
            call_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, step INTEGER NOT NULL,
            attempt INTEGER NOT NULL, ts TEXT NOT NULL, tier TEXT NOT NULL, model TEXT NOT NULL,
            price_model TEXT NOT NULL, prompt_tokens INTEGER NOT NULL,
            cached_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
            latency_s REAL NOT NULL, ttft_s REAL, confidence REAL, route_reason TEXT NOT NULL,
            cost_usd TEXT NOT NULL, simulated INTEGER NOT NULL, incomplete INTEGER NOT NULL,
            counterfactual_usd TEXT NOT NULL
        );
        CREATE INDEX calls_run ON calls (run_id, ts);
        CREATE TABLE decisions (
            id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, step INTEGER NOT NULL,
            attempt INTEGER NOT NULL, ts TEXT NOT NULL, tier TEXT NOT NULL,
            reason TEXT NOT NULL, signals_json TEXT NOT NULL, UNIQUE (run_id, step, attempt)
        );
        CREATE TABLE egress (
            id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, step INTEGER NOT NULL,
            attempt INTEGER NOT NULL, ts TEXT NOT NULL, model TEXT NOT NULL,
            endpoint TEXT NOT NULL, bytes_sent INTEGER NOT NULL,
            message_hashes_json TEXT NOT NULL, redactions INTEGER NOT NULL,
            call_id TEXT UNIQUE
        );
        CREATE TABLE outcomes (
            run_id TEXT NOT NULL, step INTEGER NOT NULL, attempt INTEGER NOT NULL,
            tier TEXT NOT NULL, self_confidence REAL, logprob_confidence REAL,
            success INTEGER NOT NULL, UNIQUE (run_id, step, attempt)
        );
        """,
    ),
    (
        "002_commands",
        """
        CREATE TABLE commands (
            id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, step INTEGER NOT NULL,
            ts TEXT NOT NULL, command TEXT NOT NULL,
            verdict TEXT NOT NULL CHECK (verdict IN ('allow', 'ask', 'deny')),
            granted INTEGER NOT NULL, returncode INTEGER
        );
        CREATE INDEX commands_run ON commands (run_id, id);
        """,
    ),
    (
        "003_prompt_bytes",
        # What stayed on the machine, for the ROI report; NULL on calls recorded before.
        "ALTER TABLE calls ADD COLUMN prompt_bytes INTEGER",
    ),
    (
        "004_replies",
        """
        CREATE TABLE replies (call_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, text TEXT NOT NULL)
        """,
    ),
    (
        "005_check_share",
        # The share of cheap checks an answer cleared (the `grounded` signal); NULL before.
        "ALTER TABLE outcomes ADD COLUMN check_share REAL",
    ),
]
