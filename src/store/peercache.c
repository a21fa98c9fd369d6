/*
 * The persistent peer cache (include/sg/peercache.h; schema in
 * docs/PROTOCOL.md, "Peer cache"): SQLite in WAL mode, every statement
 * prepared once and kept, every value bound, every row checked when it is
 * read. A file is identified by PRAGMA application_id and user_version
 * before anything is written to it, and structurally checked (quick_check)
 * before it is trusted. Rows that fail the checks are removed by one
 * "sweep" statement per table whose predicate is the same as the check in
 * C, so a skipped row is also a deleted and counted one.
 *
 * SQLite is defensive here in the ways its "Defense Against The Dark Arts"
 * page lists for files that may be damaged: DEFENSIVE on, triggers and
 * views off, untrusted schema, cell size checks. Only per-connection
 * settings are used; sqlite3_config() and other process-wide state are
 * left to the application.
 */
#define _POSIX_C_SOURCE 200809L
#include "sg/peercache.h"
#include "sg/err.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MODULE "peercache"
#define BUSY_TIMEOUT_MS 2000
#define EVICT_PROTECTED (SG_PEER_COORDINATOR | SG_PEER_PINNED)

/* The schema: version 1, plus what version 2 added (migrate_v1 adds it to
 * a version 1 file). Changing it means a new SG_PEERCACHE_SCHEMA_VERSION
 * and a migration; docs/PROTOCOL.md describes every column. */
static const char schema_v2_delivered[] =
    "CREATE TABLE delivered ("
    " id BLOB NOT NULL PRIMARY KEY,"
    " expires_ms INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE INDEX delivered_by_expiry ON delivered(expires_ms);";
static const char schema_v1[] =
    "CREATE TABLE peers ("
    " id BLOB NOT NULL PRIMARY KEY,"
    " addr BLOB NOT NULL,"
    " last_seen_ms INTEGER NOT NULL,"
    " score INTEGER NOT NULL,"
    " flags INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE INDEX peers_by_seen ON peers(last_seen_ms, score);"
    "CREATE TABLE adverts ("
    " id BLOB NOT NULL PRIMARY KEY,"
    " seq INTEGER NOT NULL,"
    " expires_ms INTEGER NOT NULL,"
    " advert BLOB NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE INDEX adverts_by_expiry ON adverts(expires_ms);"
    "CREATE TABLE kv ("
    " key TEXT NOT NULL PRIMARY KEY,"
    " value INTEGER NOT NULL"
    ") WITHOUT ROWID;";

/* The statements, prepared once at open (SQLITE_PREPARE_PERSISTENT). That
 * they all prepare is also the check that the schema is the one we wrote. */
enum {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_PEER_UPSERT,
	S_PEER_COUNT,
	S_PEER_EVICT,
	S_PEER_EXISTS,
	S_PEER_GET,
	S_PEER_REMOVE,
	S_PEER_RECENT,
	S_PEER_SWEEP,
	S_ADV_GET,
	S_ADV_COUNT,
	S_ADV_FIRST,
	S_ADV_DELETE,
	S_ADV_PUT,
	S_ADV_EXPIRE,
	S_ADV_EACH,
	S_ADV_TRIM,
	S_ADV_SWEEP,
	S_KV_SET,
	S_KV_GET,
	S_KV_SWEEP,
	S_DLV_PUT,
	S_DLV_EXPIRE,
	S_DLV_COUNT,
	S_DLV_TRIM,
	S_DLV_SWEEP,
	S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    /* An empty address never overwrites a known one; flags accumulate. */
    [S_PEER_UPSERT] =
	"INSERT INTO peers(id, addr, last_seen_ms, score, flags)"
	" VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(id) DO UPDATE SET"
	" addr = CASE WHEN length(excluded.addr) = 0 THEN addr"
	" ELSE excluded.addr END,"
	" last_seen_ms = excluded.last_seen_ms,"
	" score = excluded.score, flags = flags | excluded.flags",
    [S_PEER_COUNT] = "SELECT count(*) FROM peers",
    [S_PEER_EVICT] = "DELETE FROM peers WHERE id IN (SELECT id FROM peers"
		     " WHERE (flags & ?2) = 0"
		     " ORDER BY last_seen_ms, score, id LIMIT ?1)",
    [S_PEER_EXISTS] = "SELECT 1 FROM peers WHERE id = ?1",
    [S_PEER_GET] = "SELECT addr, last_seen_ms, score, flags FROM peers"
		   " WHERE id = ?1",
    [S_PEER_REMOVE] = "DELETE FROM peers WHERE id = ?1",
    [S_PEER_RECENT] = "SELECT addr, last_seen_ms, score, flags, id"
		      " FROM peers"
		      " ORDER BY last_seen_ms DESC, score DESC, id DESC",
    /* Same predicate as read_peer(), negated. */
    [S_PEER_SWEEP] =
	"DELETE FROM peers WHERE typeof(id) <> 'blob'"
	" OR length(id) <> ?1 OR typeof(addr) <> 'blob'"
	" OR length(addr) > ?2 OR typeof(last_seen_ms) <> 'integer'"
	" OR last_seen_ms < 0 OR typeof(score) <> 'integer'"
	" OR score < ?3 OR score > ?4 OR typeof(flags) <> 'integer'"
	" OR flags < 0 OR flags > ?5",
    [S_ADV_GET] = "SELECT seq FROM adverts WHERE id = ?1",
    [S_ADV_COUNT] = "SELECT count(*) FROM adverts",
    [S_ADV_FIRST] = "SELECT id, expires_ms FROM adverts"
		    " ORDER BY expires_ms, id LIMIT 1",
    [S_ADV_DELETE] = "DELETE FROM adverts WHERE id = ?1",
    [S_ADV_PUT] = "INSERT OR REPLACE INTO adverts(id, seq, expires_ms,"
		  " advert) VALUES(?1, ?2, ?3, ?4)",
    [S_ADV_EXPIRE] = "DELETE FROM adverts WHERE expires_ms < ?1",
    [S_ADV_EACH] = "SELECT id, advert, seq, expires_ms FROM adverts"
		   " ORDER BY id",
    [S_ADV_TRIM] = "DELETE FROM adverts WHERE id IN (SELECT id FROM"
		   " adverts ORDER BY expires_ms, id LIMIT ?1)",
    /* Same predicate as the checks in put_advert and each_advert. */
    [S_ADV_SWEEP] = "DELETE FROM adverts WHERE typeof(id) <> 'blob'"
		    " OR length(id) <> ?1 OR typeof(seq) <> 'integer'"
		    " OR typeof(expires_ms) <> 'integer' OR expires_ms < 0"
		    " OR typeof(advert) <> 'blob' OR length(advert) < 1"
		    " OR length(advert) > ?2",
    [S_KV_SET] = "INSERT INTO kv(key, value) VALUES(?1, ?2)"
		 " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [S_KV_GET] = "SELECT value FROM kv WHERE key = ?1",
    [S_KV_SWEEP] = "DELETE FROM kv WHERE typeof(key) <> 'text'"
		   " OR length(CAST(key AS BLOB)) < 1"
		   " OR length(CAST(key AS BLOB)) > ?1"
		   " OR typeof(value) <> 'integer'",
    [S_DLV_PUT] = "INSERT OR IGNORE INTO delivered(id, expires_ms)"
		  " VALUES(?1, ?2)",
    [S_DLV_EXPIRE] = "DELETE FROM delivered WHERE expires_ms < ?1",
    [S_DLV_COUNT] = "SELECT count(*) FROM delivered",
    [S_DLV_TRIM] = "DELETE FROM delivered WHERE id IN (SELECT id FROM"
		   " delivered ORDER BY expires_ms, id LIMIT ?1)",
    [S_DLV_SWEEP] = "DELETE FROM delivered WHERE typeof(id) <> 'blob'"
		    " OR length(id) <> ?1 OR typeof(expires_ms) <> 'integer'"
		    " OR expires_ms < 0",
};

struct sg_peercache {
	sg_env env;
	sqlite3 *db;
	sqlite3_stmt *st[S_COUNT];
	size_t max_peers;
	int in_callback; /* inside sg_peercache_each_advert's fn */
	unsigned delivered_puts; /* since the last expiry pass */
	sg_peercache_stats stats;
};

/* SQLite result code -> SG_ERR_*. */
static int map_rc(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_NOMEM:
		return SG_ERR_NOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return SG_ERR_AGAIN;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_SCHEMA:
	case SQLITE_MISMATCH:
	case SQLITE_CONSTRAINT:
	case SQLITE_ERROR: /* e.g. a table gone under a kept statement */
		return SG_ERR_CORRUPT;
	case SQLITE_PERM:
	case SQLITE_READONLY:
	case SQLITE_AUTH:
		return SG_ERR_PERM;
	case SQLITE_TOOBIG:
	case SQLITE_RANGE:
		return SG_ERR_RANGE;
	case SQLITE_MISUSE:
		return SG_ERR_STATE;
	default: /* IOERR, CANTOPEN, FULL, PROTOCOL, NOLFS, ... */
		return SG_ERR_IO;
	}
}

/* Logs a failed SQLite call and returns its SG_ERR_*. */
static int fail(sg_peercache *pc, const char *what, int rc)
{
	sg_log(&pc->env, SG_LOG_WARN, MODULE, "%s: %s (%s, %d)", what,
	       sqlite3_errmsg(pc->db), sqlite3_errstr(rc), rc);
	return map_rc(rc);
}

/* Resets a kept statement and drops its bindings, so no pointer into a
 * caller's buffer stays behind in it. sqlite3_reset() only repeats the
 * code of the last sqlite3_step(), which the caller has already taken. */
static void finish(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

static int bind_id(sqlite3_stmt *s, int i, const sg_peer_id *id)
{
	return sqlite3_bind_blob(s, i, id->bytes, SG_PEER_ID_LEN,
				 SQLITE_STATIC);
}

/* Steps a statement that returns no rows (or whose rows are ignored) to
 * completion and resets it. Returns a SQLite code. */
static int exec_stmt(sqlite3_stmt *s)
{
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		;
	finish(s);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Steps a statement that returns one integer (count(*), ...). Returns a
 * SQLite code; SQLITE_DONE when there was no row. */
static int step_int(sqlite3_stmt *s, int64_t *out)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW) {
		if (sqlite3_column_type(s, 0) != SQLITE_INTEGER)
			rc = SQLITE_MISMATCH;
		else
			*out = sqlite3_column_int64(s, 0);
	}
	finish(s);
	return rc;
}

/* Ends a failed transaction (SQLite may have rolled it back already) and
 * passes err through; a failed rollback is logged (SQLite then rolls back
 * when the connection closes). */
static int txn_abort(sg_peercache *pc, int err)
{
	if (!sqlite3_get_autocommit(pc->db)) {
		int rc = exec_stmt(pc->st[S_ROLLBACK]);
		if (rc != SQLITE_OK)
			fail(pc, "rollback", rc);
	}
	return err;
}

static int txn_begin(sg_peercache *pc)
{
	int rc = exec_stmt(pc->st[S_BEGIN]);
	return rc == SQLITE_OK ? 0 : fail(pc, "begin", rc);
}

static int txn_commit(sg_peercache *pc)
{
	int rc = exec_stmt(pc->st[S_COMMIT]);

	if (rc == SQLITE_OK)
		return 0;
	return txn_abort(pc, fail(pc, "commit", rc));
}

/* Deletes every row that fails its checks (all three tables) and counts
 * them. Called at open and whenever a read skipped a row. */
static int sweep(sg_peercache *pc)
{
	sqlite3_stmt *p = pc->st[S_PEER_SWEEP], *a = pc->st[S_ADV_SWEEP],
		     *k = pc->st[S_KV_SWEEP];
	int rc, n = 0;

	rc = sqlite3_bind_int(p, 1, SG_PEER_ID_LEN);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(p, 2, SG_MEMB_ADDR_MAX);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(p, 3, INT32_MIN);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(p, 4, INT32_MAX);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(p, 5, UINT32_MAX);
	rc = rc == SQLITE_OK ? exec_stmt(p) : (finish(p), rc);
	if (rc != SQLITE_OK)
		return fail(pc, "sweep peers", rc);
	n += sqlite3_changes(pc->db);

	rc = sqlite3_bind_int(a, 1, SG_PEER_ID_LEN);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(a, 2, SG_PEERCACHE_ADVERT_MAX);
	rc = rc == SQLITE_OK ? exec_stmt(a) : (finish(a), rc);
	if (rc != SQLITE_OK)
		return fail(pc, "sweep adverts", rc);
	n += sqlite3_changes(pc->db);

	rc = sqlite3_bind_int(k, 1, SG_PEERCACHE_KEY_MAX);
	rc = rc == SQLITE_OK ? exec_stmt(k) : (finish(k), rc);
	if (rc != SQLITE_OK)
		return fail(pc, "sweep kv", rc);
	n += sqlite3_changes(pc->db);

	k = pc->st[S_DLV_SWEEP];
	rc = sqlite3_bind_int(k, 1, 32);
	rc = rc == SQLITE_OK ? exec_stmt(k) : (finish(k), rc);
	if (rc != SQLITE_OK)
		return fail(pc, "sweep delivered", rc);
	n += sqlite3_changes(pc->db);

	if (n > 0) {
		pc->stats.corrupt_rows += (uint64_t)n;
		sg_log(&pc->env, SG_LOG_WARN, MODULE,
		       "deleted %d rows that failed their checks", n);
	}
	return 0;
}

/* Checks a peers row (columns from col: addr, last_seen_ms, score, flags)
 * and copies it into out; 0 when it fails a check. id is filled by the
 * caller. */
static int read_peer(sqlite3_stmt *s, int col, sg_peercache_entry *out)
{
	int64_t seen, score, flags;
	int len;

	if (sqlite3_column_type(s, col) != SQLITE_BLOB ||
	    sqlite3_column_type(s, col + 1) != SQLITE_INTEGER ||
	    sqlite3_column_type(s, col + 2) != SQLITE_INTEGER ||
	    sqlite3_column_type(s, col + 3) != SQLITE_INTEGER)
		return 0;
	len = sqlite3_column_bytes(s, col);
	seen = sqlite3_column_int64(s, col + 1);
	score = sqlite3_column_int64(s, col + 2);
	flags = sqlite3_column_int64(s, col + 3);
	if (len < 0 || len > SG_MEMB_ADDR_MAX || seen < 0 ||
	    score < INT32_MIN || score > INT32_MAX || flags < 0 ||
	    flags > (int64_t)UINT32_MAX)
		return 0;
	memset(out->addr, 0, sizeof(out->addr));
	if (len > 0) /* a zero-length blob reads as NULL */
		memcpy(out->addr, sqlite3_column_blob(s, col), (size_t)len);
	out->addr_len = (uint8_t)len;
	out->last_seen_ms = (uint64_t)seen;
	out->score = (int32_t)score;
	out->flags = (uint32_t)flags;
	return 1;
}

/* A blob column of exactly SG_PEER_ID_LEN bytes into id; 0 otherwise. */
static int read_id(sqlite3_stmt *s, int col, sg_peer_id *id)
{
	if (sqlite3_column_type(s, col) != SQLITE_BLOB ||
	    sqlite3_column_bytes(s, col) != SG_PEER_ID_LEN)
		return 0;
	memcpy(id->bytes, sqlite3_column_blob(s, col), SG_PEER_ID_LEN);
	return 1;
}

/* ---- Opening ------------------------------------------------------------ */

/* Runs a one-shot statement whose single row is one integer. */
static int query_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW &&
		    sqlite3_column_type(s, 0) == SQLITE_INTEGER) {
			*out = sqlite3_column_int64(s, 0);
			rc = SQLITE_OK;
		} else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
			rc = SQLITE_CORRUPT;
		}
	}
	sqlite3_finalize(s); /* repeats the step's code, already in rc */
	return rc;
}

/* Runs a one-shot statement whose first row is one text value and
 * compares it with want. SQLITE_CORRUPT when it differs. */
static int query_text_is(sqlite3 *db, const char *sql, const char *want)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			const unsigned char *t = sqlite3_column_text(s, 0);
			rc = t != NULL && strcmp((const char *)t, want) == 0
				 ? SQLITE_OK
				 : SQLITE_CORRUPT;
		} else if (rc == SQLITE_DONE) {
			rc = SQLITE_CORRUPT;
		}
	}
	sqlite3_finalize(s); /* repeats the step's code, already in rc */
	return rc;
}

/* Creates path with mode 0600 when it does not exist, so the database
 * (and the -wal and -shm files SQLite gives the same mode) is private.
 * An existing file is only looked at: opening and closing a descriptor
 * on it would drop the POSIX locks another connection of this process
 * holds on it. */
static int prepare_file(const char *path)
{
	struct stat st;
	int fd = open(
	    path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd >= 0)
		return close(fd) == 0 ? 0 : SG_ERR_IO;
	if (errno != EEXIST)
		return errno == ENOMEM ? SG_ERR_NOMEM : SG_ERR_IO;
	if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return SG_ERR_IO; /* includes a symbolic link */
	/* SQLite takes a 1-byte file for an empty one (a work-around in its
	 * unix VFS) and would initialise it; no database is shorter than
	 * its smallest page, so anything from 1 to 511 bytes is damage. An
	 * empty file is fine: the content may still be in the -wal file. */
	if (st.st_size > 0 && st.st_size < 512)
		return SG_ERR_CORRUPT;
	return 0;
}

/* Per-connection hardening (no process-wide state). */
static int harden(sqlite3 *db)
{
	static const int on[][2] = {
	    {SQLITE_DBCONFIG_DEFENSIVE, 1},
	    {SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0},
	    {SQLITE_DBCONFIG_ENABLE_TRIGGER, 0},
	    {SQLITE_DBCONFIG_ENABLE_VIEW, 0},
	    {SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0},
	};
	size_t i;
	int rc = sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);

	for (i = 0; rc == SQLITE_OK && i < sizeof(on) / sizeof(on[0]); i++)
		rc = sqlite3_db_config(db, on[i][0], on[i][1], (int *)NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "PRAGMA cell_size_check = ON", NULL, NULL,
				  NULL);
	return rc;
}

enum { FILE_OURS, FILE_EMPTY, FILE_V1 };

/* What is at the other end of db, read from the header and the schema
 * table only (nothing is written): FILE_OURS, FILE_EMPTY, or a negative
 * SG_ERR_*. */
static int identify(sqlite3 *db)
{
	int64_t app = 0, ver = 0, nobj = 0;
	int rc = query_int(db, "PRAGMA application_id", &app);

	if (rc == SQLITE_OK)
		rc = query_int(db, "PRAGMA user_version", &ver);
	if (rc == SQLITE_OK)
		rc = query_int(db, "SELECT count(*) FROM sqlite_master", &nobj);
	if (rc != SQLITE_OK)
		return map_rc(rc);
	if (app == 0 && ver == 0 && nobj == 0)
		return FILE_EMPTY;
	/* An unclaimed application id with a newer version is taken as a
	 * future peer cache too: better "upgrade" than "damaged". */
	if ((app == SG_PEERCACHE_APPLICATION_ID || app == 0) &&
	    ver > SG_PEERCACHE_SCHEMA_VERSION)
		return SG_ERR_UNSUPPORTED;
	if (app == SG_PEERCACHE_APPLICATION_ID && ver == 1)
		return FILE_V1;
	if (app != SG_PEERCACHE_APPLICATION_ID ||
	    ver != SG_PEERCACHE_SCHEMA_VERSION)
		return SG_ERR_CORRUPT;
	return FILE_OURS;
}

/* Writes the schema into an empty database, under the write lock, so two
 * processes creating the same cache at once do not both do it. */
static int create_schema(sqlite3 *db)
{
	int64_t nobj = 0;
	int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return rc;
	rc = query_int(db, "SELECT count(*) FROM sqlite_master", &nobj);
	if (rc == SQLITE_OK && nobj == 0) {
		rc = sqlite3_exec(db, schema_v1, NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(db, schema_v2_delivered, NULL, NULL,
					  NULL);
		/* Pragmas take no parameters; these are our constants. */
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(db,
					  "PRAGMA application_id = 0x53477063;"
					  "PRAGMA user_version = 2",
					  NULL, NULL, NULL);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	/* The first failure is the one reported; should the rollback fail
	 * too, closing the connection (which follows) rolls back. */
	if (rc != SQLITE_OK && !sqlite3_get_autocommit(db))
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Version 1 -> 2: the delivered table, under the write lock (another
 * process may be migrating the same file: the version is read again). */
static int migrate_v1(sqlite3 *db)
{
	int64_t ver = 0;
	int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return rc;
	rc = query_int(db, "PRAGMA user_version", &ver);
	if (rc == SQLITE_OK && ver == 1) {
		rc = sqlite3_exec(db, schema_v2_delivered, NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(db, "PRAGMA user_version = 2", NULL,
					  NULL, NULL);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK && !sqlite3_get_autocommit(db))
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

#if SG_PEERCACHE_APPLICATION_ID != 0x53477063 ||                               \
    SG_PEERCACHE_SCHEMA_VERSION != 2
#error "create_schema() and migrate_v1() write the id and version literally"
#endif

/* Deletes peers (then adverts) beyond max_peers, the evictable ones in
 * eviction order, when the cache was last used with a larger bound. */
static int trim(sg_peercache *pc)
{
	sqlite3_stmt *s;
	int64_t n = 0;
	int rc = step_int(pc->st[S_PEER_COUNT], &n);

	if (rc != SQLITE_ROW)
		return fail(pc, "count peers", rc);
	if ((uint64_t)n > pc->max_peers) {
		s = pc->st[S_PEER_EVICT];
		rc = sqlite3_bind_int64(s, 1, n - (int64_t)pc->max_peers);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int(s, 2, EVICT_PROTECTED);
		rc = rc == SQLITE_OK ? exec_stmt(s) : (finish(s), rc);
		if (rc != SQLITE_OK)
			return fail(pc, "trim peers", rc);
		pc->stats.evicted += (uint64_t)sqlite3_changes(pc->db);
	}
	rc = step_int(pc->st[S_ADV_COUNT], &n);
	if (rc != SQLITE_ROW)
		return fail(pc, "count adverts", rc);
	if ((uint64_t)n > pc->max_peers) {
		s = pc->st[S_ADV_TRIM];
		rc = sqlite3_bind_int64(s, 1, n - (int64_t)pc->max_peers);
		rc = rc == SQLITE_OK ? exec_stmt(s) : (finish(s), rc);
		if (rc != SQLITE_OK)
			return fail(pc, "trim adverts", rc);
		pc->stats.evicted_adverts += (uint64_t)sqlite3_changes(pc->db);
	}
	return 0;
}

/* Prepares statements [from, to); SG_ERR_CORRUPT when the schema is not
 * the one we wrote. */
static int prepare_range(sg_peercache *pc, const char *path, int from, int to)
{
	int i, rc;

	for (i = from; i < to; i++) {
		rc = sqlite3_prepare_v3(pc->db, stmt_sql[i], -1,
					SQLITE_PREPARE_PERSISTENT, &pc->st[i],
					NULL);
		if (rc != SQLITE_OK) {
			/* Not the tables and columns we wrote. */
			sg_log(&pc->env, SG_LOG_WARN, MODULE,
			       "%s: schema does not match: %s", path,
			       sqlite3_errmsg(pc->db));
			return (rc & 0xff) == SQLITE_NOMEM ? SG_ERR_NOMEM
							   : SG_ERR_CORRUPT;
		}
	}
	return 0;
}

static int open_db(sg_peercache *pc, const char *path)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	int rc, kind;

#ifdef SQLITE_OPEN_NOFOLLOW
	flags |= SQLITE_OPEN_NOFOLLOW;
#endif
	rc = prepare_file(path);
	if (rc != 0)
		return rc;
	rc = sqlite3_open_v2(path, &pc->db, flags, NULL);
	if (rc != SQLITE_OK)
		return (rc & 0xff) == SQLITE_NOMEM ? SG_ERR_NOMEM : SG_ERR_IO;
	rc = harden(pc->db);
	if (rc != SQLITE_OK)
		return fail(pc, "configure", rc);

	kind = identify(pc->db);
	if (kind < 0)
		return kind;
	if (kind == FILE_OURS || kind == FILE_V1) {
		/* Before anything is written: a damaged file stays as it is. */
		rc = query_text_is(pc->db, "PRAGMA quick_check", "ok");
		if (rc != SQLITE_OK) {
			sg_log(&pc->env, SG_LOG_WARN, MODULE,
			       "%s failed its integrity check", path);
			return (rc & 0xff) == SQLITE_CORRUPT ||
				       (rc & 0xff) == SQLITE_NOTADB
				   ? SG_ERR_CORRUPT
				   : map_rc(rc);
		}
	}
	rc = query_text_is(pc->db, "PRAGMA journal_mode = WAL", "wal");
	if (rc != SQLITE_OK)
		return (rc & 0xff) == SQLITE_CORRUPT ? SG_ERR_IO
						     : fail(pc, "wal", rc);
	/* WAL with NORMAL: commits are not synced one by one (a cache may
	 * lose its last writes on power loss, never its consistency); a
	 * delivered-message id is written per message. */
	rc = sqlite3_exec(pc->db, "PRAGMA synchronous = NORMAL", NULL, NULL,
			  NULL);
	if (rc != SQLITE_OK)
		return fail(pc, "synchronous", rc);
	if (kind == FILE_EMPTY) {
		rc = create_schema(pc->db);
		if (rc != SQLITE_OK)
			return fail(pc, "create schema", rc);
		kind = identify(pc->db);
		if (kind < 0)
			return kind;
		if (kind != FILE_OURS)
			return SG_ERR_CORRUPT;
	}

	/* Version 1's statements first: a file whose tables are not the ones
	 * we wrote is refused before a migration writes to it. */
	if ((rc = prepare_range(pc, path, 0, S_DLV_PUT)) != 0)
		return rc;
	if (kind == FILE_V1) {
		rc = migrate_v1(pc->db);
		if (rc != SQLITE_OK)
			return fail(pc, "migrate from version 1", rc);
		sg_log(&pc->env, SG_LOG_INFO, MODULE,
		       "%s: schema version 1 migrated to 2", path);
	}
	if ((rc = prepare_range(pc, path, S_DLV_PUT, S_COUNT)) != 0)
		return rc;
	rc = sweep(pc);
	if (rc == 0)
		rc = trim(pc);
	return rc;
}

sg_peercache *sg_peercache_open(const sg_env *env, const char *path,
				size_t max_peers, int *err)
{
	sg_peercache *pc;
	int rc;

	if (err != NULL)
		*err = 0;
	if (env == NULL || path == NULL || path[0] == '\0' || max_peers == 0 ||
	    max_peers > (size_t)INT64_MAX) {
		if (err != NULL)
			*err = SG_ERR_INVAL;
		return NULL;
	}
	pc = sg_calloc(env, 1, sizeof(*pc));
	if (pc == NULL) {
		if (err != NULL)
			*err = SG_ERR_NOMEM;
		return NULL;
	}
	pc->env = *env;
	pc->max_peers = max_peers;
	rc = open_db(pc, path);
	if (rc != 0) {
		sg_peercache_close(pc);
		if (err != NULL)
			*err = rc;
		return NULL;
	}
	return pc;
}

void sg_peercache_close(sg_peercache *pc)
{
	sg_env env;
	int i;

	if (pc == NULL)
		return;
	env = pc->env;
	for (i = 0; i < S_COUNT; i++)
		sqlite3_finalize(pc->st[i]);
	/* Every statement is finalized, so this cannot be SQLITE_BUSY; the
	 * last connection also checkpoints the WAL and removes it. */
	if (sqlite3_close(pc->db) != SQLITE_OK)
		sg_log(&env, SG_LOG_WARN, MODULE, "close: %s",
		       sqlite3_errmsg(pc->db));
	sg_free(&env, pc);
}

void sg_peercache_stats_get(const sg_peercache *pc, sg_peercache_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (pc != NULL)
		*out = pc->stats;
}

/* The guard every operation starts with. */
static int usable(const sg_peercache *pc)
{
	if (pc == NULL)
		return SG_ERR_INVAL;
	return pc->in_callback ? SG_ERR_STATE : 0;
}

/* ---- Peers -------------------------------------------------------------- */

/* Whether id is stored: 1, 0, or a negative SG_ERR_*. */
static int peer_exists(sg_peercache *pc, const sg_peer_id *id)
{
	sqlite3_stmt *s = pc->st[S_PEER_EXISTS];
	int rc = bind_id(s, 1, id);

	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	finish(s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : fail(pc, "peer exists", rc);
}

/* Inside put's transaction: brings the table back to max_peers. Returns
 * 0, SG_ERR_FULL when e itself would have to go or nothing may, or
 * another SG_ERR_*. */
static int peer_bound(sg_peercache *pc, const sg_peer_id *id)
{
	sqlite3_stmt *s = pc->st[S_PEER_EVICT];
	int64_t n = 0, excess;
	int rc = step_int(pc->st[S_PEER_COUNT], &n), changes;

	if (rc != SQLITE_ROW)
		return fail(pc, "count peers", rc);
	if ((uint64_t)n <= pc->max_peers)
		return 0;
	excess = n - (int64_t)pc->max_peers;
	rc = sqlite3_bind_int64(s, 1, excess);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(s, 2, EVICT_PROTECTED);
	rc = rc == SQLITE_OK ? exec_stmt(s) : (finish(s), rc);
	if (rc != SQLITE_OK)
		return fail(pc, "evict", rc);
	changes = sqlite3_changes(pc->db);
	if (changes < excess)
		return SG_ERR_FULL; /* only pinned and coordinators left */
	rc = peer_exists(pc, id);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return SG_ERR_FULL; /* the new entry was the oldest */
	pc->stats.evicted += (uint64_t)changes;
	return 0;
}

int sg_peercache_put(sg_peercache *pc, const sg_peercache_entry *e)
{
	sqlite3_stmt *s;
	int rc = usable(pc);

	if (rc != 0)
		return rc;
	if (e == NULL || e->addr_len > SG_MEMB_ADDR_MAX)
		return SG_ERR_INVAL;
	if (e->last_seen_ms > (uint64_t)INT64_MAX)
		return SG_ERR_RANGE;
	rc = txn_begin(pc);
	if (rc != 0)
		return rc;
	s = pc->st[S_PEER_UPSERT];
	rc = bind_id(s, 1, &e->id);
	if (rc == SQLITE_OK) /* e->addr is never NULL: a 0-length blob */
		rc = sqlite3_bind_blob(s, 2, e->addr, e->addr_len,
				       SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 3, (int64_t)e->last_seen_ms);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 4, e->score);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 5, e->flags);
	rc = rc == SQLITE_OK ? exec_stmt(s) : (finish(s), rc);
	if (rc != SQLITE_OK)
		return txn_abort(pc, fail(pc, "put peer", rc));
	rc = peer_bound(pc, &e->id);
	if (rc != 0) {
		if (rc == SG_ERR_FULL)
			pc->stats.refused_full++;
		return txn_abort(pc, rc);
	}
	return txn_commit(pc);
}

int sg_peercache_get(sg_peercache *pc, const sg_peer_id *id,
		     sg_peercache_entry *out)
{
	sg_peercache_entry e;
	sqlite3_stmt *s;
	int rc = usable(pc), ok = 0;

	if (rc != 0)
		return rc;
	if (id == NULL || out == NULL)
		return SG_ERR_INVAL;
	s = pc->st[S_PEER_GET];
	rc = bind_id(s, 1, id);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		ok = read_peer(s, 0, &e);
	finish(s);
	if (rc == SQLITE_DONE)
		return SG_ERR_NOTFOUND;
	if (rc != SQLITE_ROW)
		return fail(pc, "get peer", rc);
	if (!ok) {
		rc = sweep(pc);
		return rc != 0 ? rc : SG_ERR_NOTFOUND;
	}
	e.id = *id;
	*out = e;
	return 0;
}

int sg_peercache_remove(sg_peercache *pc, const sg_peer_id *id)
{
	sqlite3_stmt *s;
	int rc = usable(pc);

	if (rc != 0)
		return rc;
	if (id == NULL)
		return SG_ERR_INVAL;
	s = pc->st[S_PEER_REMOVE];
	rc = bind_id(s, 1, id);
	rc = rc == SQLITE_OK ? exec_stmt(s) : (finish(s), rc);
	if (rc != SQLITE_OK)
		return fail(pc, "remove peer", rc);
	return sqlite3_changes(pc->db) > 0 ? 0 : SG_ERR_NOTFOUND;
}

long sg_peercache_recent(sg_peercache *pc, sg_peercache_entry *out, size_t max)
{
	sqlite3_stmt *s;
	size_t n = 0;
	int rc = usable(pc), bad = 0;

	if (rc != 0)
		return rc;
	if (out == NULL && max > 0)
		return SG_ERR_INVAL;
	if (max > (size_t)INT64_MAX) /* the result is a long */
		max = (size_t)INT64_MAX;
	s = pc->st[S_PEER_RECENT];
	/* No LIMIT in SQL: a skipped row must not cost a place. */
	rc = SQLITE_DONE;
	while (n < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (read_id(s, 4, &out[n].id) && read_peer(s, 0, &out[n]))
			n++;
		else
			bad = 1;
	}
	finish(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return fail(pc, "recent peers", rc);
	if (bad) {
		rc = sweep(pc);
		if (rc != 0)
			return rc;
	}
	return (long)n;
}

long sg_peercache_count(sg_peercache *pc)
{
	int64_t n = 0;
	int rc = usable(pc);

	if (rc != 0)
		return rc;
	rc = step_int(pc->st[S_PEER_COUNT], &n);
	if (rc != SQLITE_ROW)
		return fail(pc, "count peers", rc);
	return (long)n;
}

/* ---- Adverts ------------------------------------------------------------ */

/* Inside put_advert's transaction: the advert that expires first, into
 * *victim and *first. 1 when found, 0 when a damaged row was in the way
 * (and has been swept), or an SG_ERR_*. */
static int advert_first(sg_peercache *pc, sg_peer_id *victim, int64_t *first)
{
	sqlite3_stmt *s = pc->st[S_ADV_FIRST];
	uint64_t swept;
	int rc = sqlite3_step(s), ok = 0;

	if (rc == SQLITE_ROW) {
		ok = read_id(s, 0, victim) &&
		     sqlite3_column_type(s, 1) == SQLITE_INTEGER &&
		     (*first = sqlite3_column_int64(s, 1)) >= 0;
	}
	finish(s);
	if (rc == SQLITE_DONE)
		return SG_ERR_FULL; /* max_peers adverts, none readable */
	if (rc != SQLITE_ROW)
		return fail(pc, "first advert", rc);
	if (ok)
		return 1;
	swept = pc->stats.corrupt_rows;
	rc = sweep(pc);
	if (rc != 0)
		return rc;
	/* The sweep's predicate includes this check, so the row is gone;
	 * should they ever disagree, fail rather than loop. */
	return pc->stats.corrupt_rows > swept ? 0 : SG_ERR_CORRUPT;
}

/* Inside put_advert's transaction, for a publisher not stored yet: makes
 * room for one advert that expires at expires_ms. */
static int advert_room(sg_peercache *pc, uint64_t expires_ms)
{
	sqlite3_stmt *d;
	sg_peer_id victim;
	int64_t n = 0, first = 0;
	int rc = step_int(pc->st[S_ADV_COUNT], &n);

	if (rc != SQLITE_ROW)
		return fail(pc, "count adverts", rc);
	if ((uint64_t)n < pc->max_peers)
		return 0;
	rc = advert_first(pc, &victim, &first);
	if (rc == 0) /* swept: the damaged rows are gone, look again */
		return advert_room(pc, expires_ms);
	if (rc < 0)
		return rc;
	if ((int64_t)expires_ms < first)
		return SG_ERR_FULL;
	d = pc->st[S_ADV_DELETE];
	rc = bind_id(d, 1, &victim);
	rc = rc == SQLITE_OK ? exec_stmt(d) : (finish(d), rc);
	if (rc != SQLITE_OK)
		return fail(pc, "evict advert", rc);
	pc->stats.evicted_adverts++;
	return 0;
}

/* Inside put_advert's transaction: the stored seq for id. 1 with *seq, 0
 * when there is none (or it was damaged and has been swept), or an
 * SG_ERR_*. */
static int advert_seq(sg_peercache *pc, const sg_peer_id *id, uint64_t *seq)
{
	sqlite3_stmt *s = pc->st[S_ADV_GET];
	int rc = bind_id(s, 1, id), ok = 0;

	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) == SQLITE_INTEGER) {
		/* Stored as the two's complement of the uint64_t. */
		*seq = (uint64_t)sqlite3_column_int64(s, 0);
		ok = 1;
	}
	finish(s);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return fail(pc, "advert seq", rc);
	if (!ok) {
		rc = sweep(pc);
		return rc != 0 ? rc : 0;
	}
	return 1;
}

int sg_peercache_put_advert(sg_peercache *pc, const sg_peer_id *id,
			    uint64_t seq, uint64_t expires_ms,
			    const uint8_t *advert, size_t len)
{
	sqlite3_stmt *s;
	uint64_t stored = 0;
	int rc = usable(pc);

	if (rc != 0)
		return rc;
	if (id == NULL || advert == NULL || len == 0)
		return SG_ERR_INVAL;
	if (len > SG_PEERCACHE_ADVERT_MAX || expires_ms > (uint64_t)INT64_MAX)
		return SG_ERR_RANGE;
	rc = txn_begin(pc);
	if (rc != 0)
		return rc;
	rc = advert_seq(pc, id, &stored);
	if (rc == 1 && seq <= stored) {
		pc->stats.stale_adverts++;
		rc = SG_ERR_REPLAY;
	} else if (rc == 0) {
		rc = advert_room(pc, expires_ms);
		if (rc == SG_ERR_FULL)
			pc->stats.refused_full++;
	} else if (rc == 1) {
		rc = 0;
	}
	if (rc != 0)
		return txn_abort(pc, rc);
	s = pc->st[S_ADV_PUT];
	rc = bind_id(s, 1, id);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 2, (int64_t)seq);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 3, (int64_t)expires_ms);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(s, 4, advert, (int)len, SQLITE_STATIC);
	rc = rc == SQLITE_OK ? exec_stmt(s) : (finish(s), rc);
	if (rc != SQLITE_OK)
		return txn_abort(pc, fail(pc, "put advert", rc));
	return txn_commit(pc);
}

int sg_peercache_each_advert(sg_peercache *pc, uint64_t now_wall_ms,
			     void (*fn)(void *ud, const sg_peer_id *id,
					const uint8_t *advert, size_t len),
			     void *ud)
{
	sqlite3_stmt *s = NULL;
	sg_peer_id id;
	int rc = usable(pc), bad = 0, len;

	if (rc != 0)
		return rc;
	if (fn == NULL)
		return SG_ERR_INVAL;
	if (now_wall_ms > (uint64_t)INT64_MAX)
		now_wall_ms = (uint64_t)INT64_MAX;
	s = pc->st[S_ADV_EXPIRE];
	rc = sqlite3_bind_int64(s, 1, (int64_t)now_wall_ms);
	rc = rc == SQLITE_OK ? exec_stmt(s) : (finish(s), rc);
	if (rc != SQLITE_OK)
		return fail(pc, "expire adverts", rc);
	pc->stats.expired_adverts += (uint64_t)sqlite3_changes(pc->db);

	s = pc->st[S_ADV_EACH];
	pc->in_callback = 1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (!read_id(s, 0, &id) ||
		    sqlite3_column_type(s, 1) != SQLITE_BLOB ||
		    sqlite3_column_type(s, 2) != SQLITE_INTEGER ||
		    sqlite3_column_type(s, 3) != SQLITE_INTEGER ||
		    sqlite3_column_int64(s, 3) < 0) {
			bad = 1;
			continue;
		}
		len = sqlite3_column_bytes(s, 1);
		if (len < 1 || len > SG_PEERCACHE_ADVERT_MAX) {
			bad = 1;
			continue;
		}
		fn(ud, &id, sqlite3_column_blob(s, 1), (size_t)len);
	}
	pc->in_callback = 0;
	finish(s);
	if (rc != SQLITE_DONE)
		return fail(pc, "read adverts", rc);
	return bad ? sweep(pc) : 0;
}

/* ---- Key/value ---------------------------------------------------------- */

static int key_len(const char *key, int *len)
{
	size_t n;

	if (key == NULL)
		return SG_ERR_INVAL;
	n = strnlen(key, SG_PEERCACHE_KEY_MAX + 1);
	if (n == 0 || n > SG_PEERCACHE_KEY_MAX)
		return SG_ERR_INVAL;
	*len = (int)n;
	return 0;
}

int sg_peercache_set_u64(sg_peercache *pc, const char *key, uint64_t v)
{
	sqlite3_stmt *s;
	int len = 0, rc = usable(pc);

	if (rc == 0)
		rc = key_len(key, &len);
	if (rc != 0)
		return rc;
	s = pc->st[S_KV_SET];
	rc = sqlite3_bind_text(s, 1, key, len, SQLITE_STATIC);
	if (rc == SQLITE_OK) /* two's complement: the full uint64_t range */
		rc = sqlite3_bind_int64(s, 2, (int64_t)v);
	rc = rc == SQLITE_OK ? exec_stmt(s) : (finish(s), rc);
	return rc == SQLITE_OK ? 0 : fail(pc, "set u64", rc);
}

int sg_peercache_get_u64(sg_peercache *pc, const char *key, uint64_t *v)
{
	sqlite3_stmt *s;
	int len = 0, rc = usable(pc), ok = 0;

	if (rc == 0)
		rc = key_len(key, &len);
	if (rc != 0)
		return rc;
	if (v == NULL)
		return SG_ERR_INVAL;
	s = pc->st[S_KV_GET];
	rc = sqlite3_bind_text(s, 1, key, len, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) == SQLITE_INTEGER) {
		*v = (uint64_t)sqlite3_column_int64(s, 0);
		ok = 1;
	}
	finish(s);
	if (rc == SQLITE_DONE)
		return SG_ERR_NOTFOUND;
	if (rc != SQLITE_ROW)
		return fail(pc, "get u64", rc);
	if (!ok) {
		rc = sweep(pc);
		return rc != 0 ? rc : SG_ERR_NOTFOUND;
	}
	return 0;
}

/* Deletes expired delivered ids, then the soonest to expire beyond the
 * bound. */
static int delivered_trim(sg_peercache *pc, uint64_t now)
{
	sqlite3_stmt *s = pc->st[S_DLV_EXPIRE];
	int64_t n = 0;
	int rc = sqlite3_bind_int64(s, 1, (int64_t)(now > INT64_MAX ? INT64_MAX
								     : now));

	rc = rc == SQLITE_OK ? exec_stmt(s) : (finish(s), rc);
	if (rc != SQLITE_OK)
		return fail(pc, "expire delivered", rc);
	rc = step_int(pc->st[S_DLV_COUNT], &n);
	if (rc != SQLITE_ROW)
		return fail(pc, "count delivered", rc);
	if (n > SG_PEERCACHE_DELIVERED_MAX) {
		s = pc->st[S_DLV_TRIM];
		rc = sqlite3_bind_int64(s, 1, n - SG_PEERCACHE_DELIVERED_MAX);
		rc = rc == SQLITE_OK ? exec_stmt(s) : (finish(s), rc);
		if (rc != SQLITE_OK)
			return fail(pc, "trim delivered", rc);
		pc->stats.delivered_dropped += (uint64_t)sqlite3_changes(pc->db);
	}
	return 0;
}

int sg_peercache_delivered(sg_peercache *pc, const uint8_t *id,
			   uint64_t expires_ms, uint64_t now_wall_ms)
{
	sqlite3_stmt *s = pc->st[S_DLV_PUT];
	int rc;

	if (pc->in_callback)
		return SG_ERR_STATE;
	if (id == NULL)
		return SG_ERR_INVAL;
	if (expires_ms > INT64_MAX)
		return SG_ERR_RANGE;
	rc = sqlite3_bind_blob(s, 1, id, 32, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(s, 2, (int64_t)expires_ms);
	rc = rc == SQLITE_OK ? exec_stmt(s) : (finish(s), rc);
	if (rc != SQLITE_OK)
		return fail(pc, "record delivered", rc);
	if (sqlite3_changes(pc->db) == 0)
		return 1;
	/* every so often (and the bound is checked then): expired ids */
	if (++pc->delivered_puts >= 1024) {
		pc->delivered_puts = 0;
		if ((rc = delivered_trim(pc, now_wall_ms)) != 0)
			return rc;
	}
	return 0;
}
