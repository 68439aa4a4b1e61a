/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The SQLite backend of the hub's store (store.h).
 *
 * Connections: one per thread, opened on a thread's first call and closed
 * when the thread exits or the store is closed (so close() comes after
 * the other threads have stopped using the store); each caches its
 * prepared statements. The database runs in WAL mode, so readers never wait for
 * the writer, with synchronous=FULL, so a commit is on stable storage
 * when it returns. Write transactions start with BEGIN IMMEDIATE: taking
 * the write lock first means the busy timeout covers every wait, and a
 * transaction never fails half-way for want of the lock.
 *
 * Events are most of the data, so their rows are kept small: integer
 * codes for kind, type, origin and state; the old and new attributes
 * packed with vg_pack; and for a change the new side holds only the
 * attributes that differ from the old side (the "same" column says which
 * to take from the old side). Columns that are usually empty come last,
 * where SQLite stores nothing for trailing NULLs.
 *
 * Polls (device_touch) update last_seen in memory; flush() writes those
 * values in one transaction every few seconds. Only the online/offline
 * transitions, which make events, are written at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"
#include "vg_diff.h"
#include "vg_err.h"
#include "vg_hash.h"
#include "vg_item.h"
#include "vg_json.h"
#include "vg_pack.h"
#include "vg_util.h"

#define SQ_APPLICATION_ID 0x56474842   /* "VGHB" */
#define SQ_BUSY_MS 10000
#define SQ_MAX_LIMIT 1000
#define SQ_DEFAULT_LIMIT 100
#define SQ_DELETE_CHUNK 2000           /* rows per transaction */

/* Event origins and states as stored. */
enum { ORIGIN_SCAN = 0, ORIGIN_REALTIME = 1, ORIGIN_HUB = 2 };
enum { STATE_NEW = 0, STATE_ACKED = 1, STATE_ACCEPTED = 2 };

/*
 * The schema, one entry per version: migration i brings a database from
 * user_version i to i + 1. Never edit a released entry; append a new one.
 * AUTOINCREMENT: an id is never given twice, so an id in the audit log,
 * a credential or a console link never names a later object.
 */
static const char *const migrations[] = {
	/* 1: the initial schema. */
	"CREATE TABLE user ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" name TEXT NOT NULL UNIQUE,"
	" pwhash TEXT NOT NULL,"
	" role INTEGER NOT NULL,"
	" created INTEGER NOT NULL,"
	" disabled INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE session ("
	" token_hash BLOB PRIMARY KEY,"
	" user_id INTEGER NOT NULL REFERENCES user(id) ON DELETE CASCADE,"
	" csrf TEXT NOT NULL,"
	" created INTEGER NOT NULL,"
	" expires INTEGER NOT NULL,"
	" last_used INTEGER NOT NULL,"
	" peer TEXT) WITHOUT ROWID;"
	"CREATE INDEX session_user ON session(user_id);"
	/* agent_id: the device whose agent sends for this one (itself for
	 * an agent's own device). */
	"CREATE TABLE device ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" agent_id INTEGER,"
	" name TEXT NOT NULL,"
	" hostname TEXT NOT NULL,"
	" os TEXT NOT NULL DEFAULT '',"
	" machine_id TEXT,"
	" agent_version TEXT,"
	" ips TEXT NOT NULL DEFAULT '[]',"
	" macs TEXT NOT NULL DEFAULT '[]',"
	" poll_period INTEGER,"
	" cred_hash BLOB,"
	" created INTEGER NOT NULL,"
	" last_seen INTEGER,"
	" online INTEGER NOT NULL DEFAULT 1,"
	" clone_of INTEGER,"
	" peer TEXT);"
	"CREATE INDEX device_machine ON device(machine_id);"
	"CREATE INDEX device_agent ON device(agent_id);"
	"CREATE TABLE grp ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" name TEXT NOT NULL UNIQUE,"
	" created INTEGER NOT NULL);"
	"CREATE TABLE grp_device ("
	" grp INTEGER NOT NULL REFERENCES grp(id) ON DELETE CASCADE,"
	" device INTEGER NOT NULL REFERENCES device(id) ON DELETE CASCADE,"
	" PRIMARY KEY (grp, device)) WITHOUT ROWID;"
	"CREATE INDEX grp_device_device ON grp_device(device);"
	"CREATE TABLE policy ("
	" grp INTEGER PRIMARY KEY REFERENCES grp(id) ON DELETE CASCADE,"
	" doc TEXT NOT NULL,"
	" version INTEGER NOT NULL);"
	/* type: enum hs_event_type; origin: ORIGIN_*; kind: enum
	 * vg_item_kind; changed and same: VG_A_* bits; old, new: vg_pack
	 * (new without the "same" attributes); state: NULL = new. */
	"CREATE TABLE event ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" device INTEGER NOT NULL REFERENCES device(id) ON DELETE CASCADE,"
	" seq INTEGER,"
	" time_ns INTEGER NOT NULL,"
	" received INTEGER NOT NULL,"
	" type INTEGER NOT NULL,"
	" origin INTEGER NOT NULL,"
	" kind INTEGER,"
	" path BLOB,"
	" changed INTEGER,"
	" old BLOB,"
	" new BLOB,"
	" same INTEGER,"
	" message TEXT,"
	" diff TEXT,"
	" diff_truncated INTEGER,"
	" state INTEGER,"
	" ack_by TEXT,"
	" ack_at INTEGER,"
	" comment TEXT,"
	" accepted_by TEXT,"
	" accepted_at INTEGER);"
	/* The idempotency key of agents' events. */
	"CREATE UNIQUE INDEX event_seq ON event(device, seq);"
	/* (device, id): a device's events newest first. */
	"CREATE INDEX event_device ON event(device);"
	/* Retention and time filters. */
	"CREATE INDEX event_received ON event(received);"
	"CREATE TABLE hub_baseline ("
	" device INTEGER NOT NULL REFERENCES device(id) ON DELETE CASCADE,"
	" kind INTEGER NOT NULL,"
	" path BLOB NOT NULL,"
	" attrs BLOB NOT NULL,"
	" event INTEGER,"
	" accepted_at INTEGER,"
	" PRIMARY KEY (device, kind, path)) WITHOUT ROWID;"
	"CREATE TABLE audit ("
	" id INTEGER PRIMARY KEY,"
	" time INTEGER NOT NULL,"
	" user TEXT,"
	" peer TEXT,"
	" action TEXT NOT NULL,"
	" target TEXT,"
	" detail TEXT);"
	"CREATE TABLE setting ("
	" key TEXT PRIMARY KEY,"
	" value TEXT NOT NULL) WITHOUT ROWID;",

	/* 2: what the console's overview reads instead of the events. */
	/* Events by hour of receipt (received / 3600), device and type.
	 * Every insert into event adds to it in the same transaction: the
	 * store does (rollup_add(), a row or two per batch), as a trigger
	 * would cost a statement journal per event stored, more than the
	 * insert itself. Every delete, by retention, a device's deletion or
	 * its cascade alike, takes from it through the trigger below. */
	"CREATE TABLE event_rollup ("
	" hour INTEGER NOT NULL,"
	" device INTEGER NOT NULL,"
	" type INTEGER NOT NULL,"
	" n INTEGER NOT NULL,"
	" PRIMARY KEY (hour, device, type)) WITHOUT ROWID;"
	"INSERT INTO event_rollup(hour, device, type, n)"
	" SELECT received / 3600, device, type, count(*) FROM event"
	" GROUP BY 1, 2, 3;"
	"CREATE TRIGGER event_rollup_remove AFTER DELETE ON event BEGIN"
	" UPDATE event_rollup SET n = n - 1 WHERE hour = old.received / 3600"
	" AND device = old.device AND type = old.type;"
	" DELETE FROM event_rollup WHERE hour = old.received / 3600"
	" AND device = old.device AND type = old.type AND n <= 0;"
	" END;"
	/* The hub's own events and agents' health events (types 10 and up:
	 * few), by type and device: the last offline event of a device,
	 * the agent and clone events of a window. A query uses it only when
	 * it says "type >= 10" as well. */
	"CREATE INDEX event_notice ON event(type, device) WHERE type >= 10;",
	/* 3: acknowledged and accepted events (state set: the fewer), for
	 * the console's state filter; a query uses it when it says
	 * "state = ?". */
	"CREATE INDEX event_state ON event(state) WHERE state IS NOT NULL;",

	/* 4: proxied devices (collected by a proxy agent over SSH,
	 * Telnet or SMB), their credentials and configuration versions.
	 * A proxied device has kind 1, its proxy's own device in both
	 * proxy and agent_id (so the agent_id rules of agents' devices hold
	 * for it), its schedule in poll_period, no machine id and no
	 * credential of its own. ptype: enum hs_proxied_type; protocol: 1
	 * ssh, 2 telnet, 3 smb (windows, which keep no host key);
	 * host_key_state: enum hs_host_key_state. config_sha and
	 * config_version are those of its newest device_config row. */
	"CREATE TABLE credential ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" name TEXT NOT NULL UNIQUE,"
	" username TEXT,"
	" box BLOB NOT NULL,"
	" created INTEGER NOT NULL,"
	" updated INTEGER NOT NULL);"
	"ALTER TABLE device ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE device ADD COLUMN proxy INTEGER;"
	"ALTER TABLE device ADD COLUMN ptype INTEGER;"
	"ALTER TABLE device ADD COLUMN host TEXT;"
	"ALTER TABLE device ADD COLUMN port INTEGER;"
	"ALTER TABLE device ADD COLUMN protocol INTEGER;"
	"ALTER TABLE device ADD COLUMN profile TEXT;"
	"ALTER TABLE device ADD COLUMN credential INTEGER"
	" REFERENCES credential(id);"
	"ALTER TABLE device ADD COLUMN legacy_ssh INTEGER DEFAULT 0;"
	"ALTER TABLE device ADD COLUMN host_key TEXT;"
	"ALTER TABLE device ADD COLUMN host_key_state INTEGER DEFAULT 0;"
	"ALTER TABLE device ADD COLUMN host_key_offered TEXT;"
	"ALTER TABLE device ADD COLUMN last_collect INTEGER;"
	"ALTER TABLE device ADD COLUMN last_error TEXT;"
	"ALTER TABLE device ADD COLUMN last_error_code TEXT;"
	"ALTER TABLE device ADD COLUMN config_sha TEXT;"
	"ALTER TABLE device ADD COLUMN config_version INTEGER DEFAULT 0;"
	"CREATE INDEX device_proxy ON device(proxy) WHERE proxy IS NOT NULL;"
	"CREATE INDEX device_credential ON device(credential)"
	" WHERE credential IS NOT NULL;"
	/* text: the normalised document; significant: its view without
	 * volatile lines, which sha256 (hex) is the digest of and which
	 * change events compare. */
	"CREATE TABLE device_config ("
	" device INTEGER NOT NULL REFERENCES device(id) ON DELETE CASCADE,"
	" version INTEGER NOT NULL,"
	" time INTEGER NOT NULL,"
	" sha256 TEXT NOT NULL,"
	" lines INTEGER NOT NULL,"
	" text BLOB NOT NULL,"
	" significant BLOB NOT NULL,"
	" PRIMARY KEY (device, version));",
};
#define SCHEMA_VERSION \
	((int)(sizeof(migrations) / sizeof(migrations[0])))

#define DEVICE_COLS \
	"SELECT d.id, d.agent_id, d.name, d.hostname, d.os, d.machine_id," \
	" d.agent_version, d.ips, d.macs, d.poll_period, d.created," \
	" d.last_seen, d.online, d.clone_of," \
	" (SELECT json_group_array(json_object('id', id, 'name', name))" \
	"  FROM (SELECT g.id, g.name FROM grp_device gd" \
	"   JOIN grp g ON g.id = gd.grp WHERE gd.device = d.id" \
	"   ORDER BY g.id))," \
	" d.peer, d.kind, d.ptype, d.host, d.port, d.protocol, d.profile," \
	" d.credential," \
	" (SELECT name FROM credential WHERE id = d.credential)," \
	" d.proxy, (SELECT p.name FROM device p WHERE p.id = d.proxy)," \
	" d.legacy_ssh, d.host_key, d.host_key_state, d.host_key_offered," \
	" d.last_collect, d.last_error, d.config_version" \
	" FROM device d"

/* The columns proxied_for_proxy() reads. */
#define PROXIED_COLS \
	"SELECT d.id, d.name, d.ptype, d.host, d.port, d.protocol, d.profile," \
	" d.poll_period, d.legacy_ssh, d.host_key, d.host_key_state," \
	" d.config_sha, d.credential, c.updated" \
	" FROM device d LEFT JOIN credential c ON c.id = d.credential"

/* The columns of a credential object; CREDENTIAL_FROM follows. */
#define CREDENTIAL_COLS \
	"SELECT c.id, c.name, c.username, c.created, c.updated," \
	" (SELECT count(*) FROM device d WHERE d.credential = c.id)"
#define CREDENTIAL_FROM " FROM credential c"

#define GROUP_COLS \
	"SELECT g.id, g.name," \
	" (SELECT count(*) FROM grp_device gd WHERE gd.grp = g.id)," \
	" coalesce(p.version, 0)" \
	" FROM grp g LEFT JOIN policy p ON p.grp = g.id"

/* The summary columns of events; event_summary() reads them. CROSS JOIN
 * keeps event the outer loop, so ORDER BY id walks an index. */
#define EVENT_COLS \
	"SELECT e.id, e.device, d.name, e.seq, e.time_ns, e.received," \
	" e.type, e.origin, e.kind, e.path, e.changed, e.message, e.state"
#define EVENT_FROM \
	" FROM event e CROSS JOIN device d ON d.id = e.device"
#define EVENT_NCOLS 13

/* Every statement, prepared once per connection on first use. */
#define STATEMENTS(X) \
	X(BEGIN, "BEGIN IMMEDIATE") \
	X(COMMIT, "COMMIT") \
	X(ROLLBACK, "ROLLBACK") \
	X(USER_INSERT, "INSERT INTO user(name, pwhash, role, created)" \
	    " VALUES(?1, ?2, ?3, ?4)") \
	X(USER_BY_NAME, "SELECT id, name, role, created, disabled, pwhash" \
	    " FROM user WHERE name = ?1") \
	X(USER_BY_ID, "SELECT id, name, role, created, disabled, pwhash" \
	    " FROM user WHERE id = ?1") \
	X(USER_LIST, "SELECT id, name, role, created, disabled FROM user" \
	    " ORDER BY id") \
	X(USER_UPDATE, "UPDATE user SET" \
	    " role = CASE WHEN ?2 > 0 THEN ?2 ELSE role END," \
	    " pwhash = coalesce(?3, pwhash)," \
	    " disabled = CASE WHEN ?4 >= 0 THEN ?4 ELSE disabled END" \
	    " WHERE id = ?1") \
	X(USER_SESSIONS_DELETE, "DELETE FROM session WHERE user_id = ?1") \
	X(USER_DELETE, "DELETE FROM user WHERE id = ?1") \
	X(SESSION_INSERT, "INSERT INTO session(token_hash, user_id, csrf," \
	    " created, expires, last_used, peer)" \
	    " VALUES(?1, ?2, ?3, ?4, ?5, ?4, ?6)") \
	X(SESSION_GET, "SELECT user_id, csrf, created, expires, last_used" \
	    " FROM session WHERE token_hash = ?1") \
	X(SESSION_TOUCH, "UPDATE session SET last_used = ?2" \
	    " WHERE token_hash = ?1 AND last_used < ?2") \
	X(SESSION_EXISTS, "SELECT 1 FROM session WHERE token_hash = ?1") \
	X(SESSION_DELETE, "DELETE FROM session WHERE token_hash = ?1") \
	X(SESSION_PURGE, "DELETE FROM session" \
	    " WHERE expires <= ?1 OR last_used < ?2") \
	X(DEVICE_BY_MACHINE, "SELECT id, hostname, macs, cred_hash," \
	    " coalesce(last_seen, created), poll_period FROM device" \
	    " WHERE machine_id = ?1 ORDER BY id") \
	X(DEVICE_INSERT, "INSERT INTO device(name, hostname, os," \
	    " machine_id, agent_version, ips, macs, poll_period, cred_hash," \
	    " created, last_seen, online, clone_of, peer)" \
	    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, 1, ?11," \
	    " ?12)") \
	X(DEVICE_SET_AGENT, "UPDATE device SET agent_id = id WHERE id = ?1") \
	X(DEVICE_REREGISTER, "UPDATE device SET name = ?2, hostname = ?3," \
	    " os = ?4, agent_version = ?5, ips = ?6, macs = ?7," \
	    " poll_period = ?8, cred_hash = ?9, peer = ?10 WHERE id = ?1") \
	X(AGENT_AUTH, "SELECT id, cred_hash FROM device" \
	    " WHERE id = ?1 AND agent_id = ?1") \
	X(DEVICE_AGENT, "SELECT agent_id FROM device WHERE id = ?1") \
	X(DEVICE_LAST_SEQ, "SELECT max(seq) FROM event WHERE device = ?1") \
	X(DEVICE_GET, DEVICE_COLS " WHERE d.id = ?1") \
	X(DEVICE_LIST, DEVICE_COLS " WHERE d.id > ?1" \
	    " AND (?2 = 0 OR EXISTS (SELECT 1 FROM grp_device gd" \
	    "  WHERE gd.grp = ?2 AND gd.device = d.id))" \
	    " AND (?3 = 0 OR d.online = (?3 = 1))" \
	    " AND (?4 IS NULL OR instr(lower(d.os), lower(?4)) > 0)" \
	    " AND (?5 IS NULL OR instr(lower(d.name), lower(?5)) > 0" \
	    "  OR instr(lower(d.hostname), lower(?5)) > 0)" \
	    " AND (?7 IS NULL OR vg_last_seen(d.id," \
	    "  coalesce(d.last_seen, d.created)) < ?7)" \
	    " AND (?8 IS NULL OR vg_last_seen(d.id," \
	    "  coalesce(d.last_seen, d.created)) >= ?8)" \
	    " AND (?9 = 0 OR d.kind = ?9 - 1)" \
	    " ORDER BY d.id LIMIT ?6") \
	X(DEVICE_DELETE, "DELETE FROM device WHERE id = ?1") \
	X(DEVICE_REVOKE, "UPDATE device SET cred_hash = NULL WHERE id = ?1") \
	X(DEVICE_EVENTS_DELETE, "DELETE FROM event WHERE id IN" \
	    " (SELECT id FROM event WHERE device = ?1 ORDER BY id LIMIT ?2)") \
	X(DEVICE_CONFIGS_DELETE, "DELETE FROM device_config" \
	    " WHERE device = ?1 AND version IN (SELECT version" \
	    " FROM device_config WHERE device = ?1 ORDER BY version" \
	    " LIMIT ?2)") \
	X(DEVICE_PROXIED_COUNT, "SELECT count(*) FROM device" \
	    " WHERE proxy = ?1 AND kind = 1") \
	X(DEVICE_BASELINE_DELETE, "DELETE FROM hub_baseline" \
	    " WHERE device = ?1 AND (kind, path) IN (SELECT kind, path" \
	    " FROM hub_baseline WHERE device = ?1 LIMIT ?2)") \
	X(DEVICE_STATE, "SELECT online, last_seen FROM device WHERE id = ?1") \
	X(DEVICE_ONLINE, "UPDATE device SET online = 1," \
	    " last_seen = max(coalesce(last_seen, 0), ?2)" \
	    " WHERE id = ?1 AND online = 0") \
	X(DEVICE_LAST_SEEN, "UPDATE device SET last_seen = ?2" \
	    " WHERE id = ?1 AND (last_seen IS NULL OR last_seen < ?2)") \
	X(DEVICE_STALE, "SELECT id, coalesce(last_seen, created)," \
	    " CASE WHEN poll_period > 0 THEN poll_period ELSE ?2 END" \
	    " FROM device WHERE online = 1" \
	    " AND max(coalesce(last_seen, created), ?4)" \
	    " + CASE WHEN poll_period > 0 THEN poll_period ELSE ?2 END" \
	    " + ?3 < ?1") \
	X(DEVICE_OFFLINE, "UPDATE device SET online = 0" \
	    " WHERE id = ?1 AND online = 1") \
	X(DEVICE_EXISTS, "SELECT 1 FROM device WHERE id = ?1") \
	X(EVENT_HUB, "INSERT INTO event(device, time_ns, received, type," \
	    " origin, message) VALUES(?1, ?2, ?3, ?4, 2, ?5)") \
	X(GROUP_INSERT, "INSERT INTO grp(name, created) VALUES(?1, ?2)") \
	X(GROUP_GET, GROUP_COLS " WHERE g.id = ?1") \
	X(GROUP_LIST, GROUP_COLS " ORDER BY g.id") \
	X(GROUP_RENAME, "UPDATE grp SET name = ?2 WHERE id = ?1") \
	X(GROUP_DELETE, "DELETE FROM grp WHERE id = ?1") \
	X(GROUP_EXISTS, "SELECT 1 FROM grp WHERE id = ?1") \
	X(MEMBER_ADD, "INSERT INTO grp_device(grp, device) VALUES(?1, ?2)" \
	    " ON CONFLICT DO NOTHING") \
	X(MEMBER_DELETE, "DELETE FROM grp_device" \
	    " WHERE grp = ?1 AND device = ?2") \
	X(POLICY_GET, "SELECT doc, version FROM policy WHERE grp = ?1") \
	X(POLICY_SET, "INSERT INTO policy(grp, doc, version)" \
	    " VALUES(?1, ?2, 1) ON CONFLICT(grp) DO UPDATE SET" \
	    " doc = excluded.doc, version = version + 1 RETURNING version") \
	X(DEVICE_POLICIES, "SELECT g.id, g.name, p.version, p.doc" \
	    " FROM grp_device gd JOIN grp g ON g.id = gd.grp" \
	    " JOIN policy p ON p.grp = gd.grp WHERE gd.device = ?1" \
	    " ORDER BY g.id") \
	X(EVENT_INSERT, "INSERT INTO event(device, seq, time_ns, received," \
	    " type, origin, kind, path, changed, old, new, same, message," \
	    " diff, diff_truncated) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8," \
	    " ?9, ?10, ?11, ?12, ?13, ?14, ?15)" \
	    " ON CONFLICT(device, seq) DO NOTHING") \
	X(EVENT_GET, EVENT_COLS ", e.old, e.new, e.same, e.diff," \
	    " e.diff_truncated, e.ack_by, e.ack_at, e.comment," \
	    " e.accepted_by, e.accepted_at" EVENT_FROM " WHERE e.id = ?1") \
	X(EVENT_ACK, "UPDATE event SET state = max(coalesce(state, 0), 1)," \
	    " ack_by = ?2, ack_at = ?3, comment = ?4 WHERE id = ?1") \
	X(EVENT_FOR_ACCEPT, "SELECT device, type, kind, path, old, new, same" \
	    " FROM event WHERE id = ?1") \
	X(BASELINE_PUT, "INSERT INTO hub_baseline(device, kind, path, attrs," \
	    " event, accepted_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6)" \
	    " ON CONFLICT(device, kind, path) DO UPDATE SET" \
	    " attrs = excluded.attrs, event = excluded.event," \
	    " accepted_at = excluded.accepted_at") \
	X(BASELINE_DELETE, "DELETE FROM hub_baseline" \
	    " WHERE device = ?1 AND kind = ?2 AND path = ?3") \
	X(EVENT_ACCEPTED, "UPDATE event SET state = 2, accepted_by = ?2," \
	    " accepted_at = ?3 WHERE id = ?1") \
	X(EVENT_PURGE, "DELETE FROM event WHERE id IN (SELECT id FROM event" \
	    " WHERE received < ?1 ORDER BY received LIMIT ?2)") \
	X(ROLLUP_ADD, "INSERT INTO event_rollup(hour, device, type, n)" \
	    " VALUES (?1, ?2, ?3, ?4)" \
	    " ON CONFLICT DO UPDATE SET n = n + excluded.n") \
	X(EVENT_NEWEST, "SELECT max(id) FROM event WHERE id < ?1") \
	X(EVENT_NEWEST_DEVICE, "SELECT max(id) FROM event" \
	    " WHERE device = ?1 AND id < ?2") \
	X(EVENT_LAST_BEFORE, "SELECT id FROM event WHERE received < ?1" \
	    " ORDER BY received DESC, id DESC LIMIT 1") \
	X(EVENT_FIRST_FROM, "SELECT id FROM event WHERE received >= ?1" \
	    " ORDER BY received, id LIMIT 1") \
	X(EVENT_RECEIVED_FROM, "SELECT received FROM event WHERE id >= ?1" \
	    " ORDER BY id LIMIT 1") \
	X(DASH_DEVICES, "SELECT count(*), coalesce(sum(online), 0)" \
	    " FROM device") \
	X(DASH_POINTS, "SELECT hour * 3600 / ?2 * ?2, type, sum(n)" \
	    " FROM event_rollup WHERE hour >= ?1 AND type <= 3 GROUP BY 1, 2") \
	X(DASH_TOP, "SELECT r.device, d.name, sum(r.n) AS c" \
	    " FROM event_rollup r CROSS JOIN device d ON d.id = r.device" \
	    " WHERE r.hour >= ?1 AND r.type <= 3" \
	    " GROUP BY r.device ORDER BY c DESC, r.device LIMIT 10") \
	X(DASH_LATEST, EVENT_COLS EVENT_FROM " WHERE e.type <= 3" \
	    " ORDER BY e.id DESC LIMIT 10") \
	X(DASH_OFFLINE, "SELECT d.id, d.name, e.message, coalesce(e.received," \
	    " d.last_seen, d.created), e.id FROM device d" \
	    " LEFT JOIN event e ON e.id = (SELECT max(x.id) FROM event x" \
	    "  WHERE x.type >= 10 AND x.type = 10 AND x.device = d.id)" \
	    " WHERE d.online = 0") \
	X(DASH_NOTICES, "SELECT e.device, d.name, e.type, e.message," \
	    " e.received, e.id FROM (SELECT max(id) AS id FROM event" \
	    "  WHERE type >= 10 AND type IN (12, 13) GROUP BY type, device) m" \
	    " CROSS JOIN event e ON e.id = m.id" \
	    " CROSS JOIN device d ON d.id = e.device" \
	    " WHERE e.received >= ?1 AND e.state IS NULL") \
	X(AUDIT_INSERT, "INSERT INTO audit(time, user, peer, action, target," \
	    " detail) VALUES(?1, ?2, ?3, ?4, ?5, ?6)") \
	X(AUDIT_LIST, "SELECT id, time, user, peer, action, target, detail" \
	    " FROM audit WHERE id < ?1 ORDER BY id DESC LIMIT ?2") \
	X(SETTING_GET, "SELECT value FROM setting WHERE key = ?1") \
	X(SETTING_SET, "INSERT INTO setting(key, value) VALUES(?1, ?2)" \
	    " ON CONFLICT(key) DO UPDATE SET value = excluded.value") \
	X(SETTING_DELETE, "DELETE FROM setting WHERE key = ?1") \
	X(CRED_INSERT, "INSERT INTO credential(name, username, box, created," \
	    " updated) VALUES(?1, ?2, ?3, ?4, ?4)") \
	X(CRED_UPDATE, "UPDATE credential SET name = coalesce(?2, name)," \
	    " username = coalesce(?3, username), box = coalesce(?4, box)," \
	    " updated = ?5 WHERE id = ?1") \
	X(CRED_DELETE, "DELETE FROM credential WHERE id = ?1") \
	X(CRED_GET, CREDENTIAL_COLS ", c.box" CREDENTIAL_FROM \
	    " WHERE c.id = ?1") \
	X(CRED_LIST, CREDENTIAL_COLS CREDENTIAL_FROM " ORDER BY c.id") \
	X(PROXIED_INSERT, "INSERT INTO device(name, hostname, os, ips, macs," \
	    " poll_period, created, online, kind, agent_id, proxy, ptype," \
	    " host, port, protocol, profile, credential, legacy_ssh," \
	    " host_key_state, config_version) VALUES(?1, ?2, '', '[]', '[]'," \
	    " ?3, ?4, 0, 1, ?5, ?5, ?6, ?2, ?7, ?8, ?9, ?10, ?11, 0, 0)") \
	X(PROXIED_STATE, "SELECT kind, ptype, host, port, protocol, profile," \
	    " credential, proxy, poll_period, legacy_ssh, host_key," \
	    " host_key_state, host_key_offered, last_error, config_sha," \
	    " config_version, name, online, last_error_code FROM device" \
	    " WHERE id = ?1") \
	X(PROXIED_UPDATE, "UPDATE device SET name = ?2, hostname = ?4," \
	    " ptype = ?3, host = ?4, port = ?5, protocol = ?6, profile = ?7," \
	    " credential = ?8, proxy = ?9, agent_id = ?9, poll_period = ?10," \
	    " legacy_ssh = ?11, host_key = ?12, host_key_state = ?13," \
	    " host_key_offered = ?14 WHERE id = ?1") \
	X(PROXIED_LIST, PROXIED_COLS " WHERE d.proxy = ?1 AND d.kind = 1" \
	    " ORDER BY d.id") \
	X(PROXIED_OWNER, "SELECT kind, proxy FROM device WHERE id = ?1") \
	X(DEVICE_KIND, "SELECT kind FROM device WHERE id = ?1") \
	X(CRED_EXISTS, "SELECT 1 FROM credential WHERE id = ?1") \
	X(HOST_KEY_SET, "UPDATE device SET host_key = ?2," \
	    " host_key_state = ?3, host_key_offered = ?4 WHERE id = ?1") \
	X(RESULT_SET, "UPDATE device SET last_collect =" \
	    " coalesce(?2, last_collect), last_error = ?3," \
	    " last_error_code = ?4 WHERE id = ?1") \
	X(CONFIG_INSERT, "INSERT INTO device_config(device, version, time," \
	    " sha256, lines, text, significant)" \
	    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)") \
	X(CONFIG_HEAD, "UPDATE device SET config_sha = ?2," \
	    " config_version = ?3 WHERE id = ?1") \
	X(CONFIG_PREVIOUS, "SELECT lines, significant FROM device_config" \
	    " WHERE device = ?1 AND version = ?2") \
	X(CONFIG_LIST, "SELECT version, time, sha256, lines, length(text)" \
	    " FROM device_config WHERE device = ?1 ORDER BY version DESC") \
	X(CONFIG_GET, "SELECT version, time, sha256, lines, text, significant" \
	    " FROM device_config WHERE device = ?1 AND version = ?2") \
	X(STATS, "SELECT (SELECT count(*) FROM device)," \
	    " (SELECT coalesce(sum(n), 0) FROM event_rollup)," \
	    " (SELECT page_count FROM pragma_page_count())" \
	    " * (SELECT page_size FROM pragma_page_size())")

#define X_ENUM(name, sql) ST_##name,
enum stmt_id { STATEMENTS(X_ENUM) ST_COUNT };
#undef X_ENUM
#define X_SQL(name, sql) sql,
static const char *const stmt_sql[ST_COUNT] = { STATEMENTS(X_SQL) };
#undef X_SQL

/* Filters of an event query; each combination is its own statement, so
 * the planner sees exactly the conditions that apply (a "?1 = 0 OR"
 * condition would keep it off the indexes). */
enum {
	QF_DEVICE = 1 << 0,
	QF_GROUP = 1 << 1,
	QF_SINCE = 1 << 2,
	QF_UNTIL = 1 << 3,
	QF_TYPE = 1 << 4,
	QF_TEXT = 1 << 5,
	QF_STATE = 1 << 6,
	QF_NOTICE = 1 << 7,        /* with QF_TYPE: a type of 10 and up */
	QF_REVIEWED = 1 << 8,      /* with QF_STATE: acked or accepted */
	QF_SHAPES = 1 << 9,
};

/* An event search reads at most this many ids per statement. Between two
 * windows it looks at the clock, and no read transaction stays open. */
#define SQ_WINDOW 32768
/* How far, in seconds, received times may run out of id order: a batch
 * takes its time of receipt before it waits for the write lock (at most
 * SQ_BUSY_MS). Searches by time rely on it to turn times into ids. */
#define SQ_DISORDER 120

struct sq_store;

/* One thread's connection. */
struct sq_conn {
	struct sq_store *st;
	sqlite3 *db;
	int bind_rc;                    /* first failed bind since stmt_get */
	sqlite3_stmt *stmt[ST_COUNT];
	sqlite3_stmt *query[QF_SHAPES];
	struct sq_conn *prev, *next;    /* in st->conns */
};

/* What the store knows of a device between flushes. */
struct seen {
	int64_t id;                     /* 0: free slot */
	int64_t last_seen;              /* newest poll time known */
	unsigned char known;            /* online holds the stored state */
	unsigned char online;
	unsigned char dirty;            /* last_seen not written yet */
};

struct sq_store {
	struct hub_store base;          /* first: the ops */
	char *path;
	pthread_key_t key;              /* the calling thread's sq_conn */
	pthread_mutex_t conns_mu;
	struct sq_conn *conns;
	pthread_mutex_t seen_mu;
	struct seen *seen;              /* open addressing, power of 2 */
	size_t seen_cap, seen_used;
};

#define SQ(s) ((struct sq_store *)(s))

/* Maps a SQLite result code to a vg_err and writes "op: message". */
static int
sq_fail(struct sq_conn *c, int rc, const char *op, char *err, size_t errlen)
{
	const char *msg = c != NULL && c->db != NULL ? sqlite3_errmsg(c->db) :
	    sqlite3_errstr(rc);
	const char *path = c != NULL ? c->st->path : "the database";

	switch (rc & 0xff) {
	case SQLITE_NOTADB:
		vg_errf(err, errlen, "%s is not a SQLite database", path);
		return VG_ERR_FORMAT;
	case SQLITE_CORRUPT:
		vg_errf(err, errlen, "%s: database %s is damaged: %s", op,
		    path, msg);
		return VG_ERR_CORRUPT;
	}
	vg_errf(err, errlen, "%s: %s", op, msg);
	switch (rc & 0xff) {
	case SQLITE_FULL:
		return VG_ERR_NOSPACE;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return VG_ERR_BUSY;
	case SQLITE_NOMEM:
		return VG_ERR_NOMEM;
	}
	return VG_ERR_DB;
}

static int64_t
wall_now(void)
{
	return (int64_t)time(NULL);
}

static int
clamp_limit(int limit)
{
	if (limit <= 0)
		return SQ_DEFAULT_LIMIT;
	return limit > SQ_MAX_LIMIT ? SQ_MAX_LIMIT : limit;
}

/* ---- connections and statements ---- */

static void
conn_free(struct sq_conn *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(c->stmt[i]);
	for (i = 0; i < QF_SHAPES; i++)
		sqlite3_finalize(c->query[i]);
	sqlite3_close(c->db);
	free(c);
}

/* pthread key destructor: the thread is exiting. */
static void
conn_thread_exit(void *arg)
{
	struct sq_conn *c = arg;
	struct sq_store *st = c->st;

	pthread_mutex_lock(&st->conns_mu);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		st->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&st->conns_mu);
	conn_free(c);
}

static int
conn_exec(struct sq_conn *c, const char *sql, const char *op, char *err,
    size_t errlen)
{
	int rc;

	if ((rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL)) != SQLITE_OK)
		return sq_fail(c, rc, op, err, errlen);
	return 0;
}

static int64_t seen_last(struct sq_store *st, int64_t id, int64_t stored);

/*
 * SQL vg_path_has(path, needle): 1 when the bytes of path hold needle,
 * ASCII letters of path taken in lower case (needle is lower case
 * already); other bytes, those of paths that are not UTF-8 included,
 * compare exactly. NULL path: 0.
 */
static void
sql_path_has(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const unsigned char *h, *n;
	int hl, nl, i, j;
	unsigned char c;

	(void)argc;
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
		sqlite3_result_int(ctx, 0);
		return;
	}
	h = sqlite3_value_blob(argv[0]);
	hl = sqlite3_value_bytes(argv[0]);
	n = sqlite3_value_blob(argv[1]);
	nl = sqlite3_value_bytes(argv[1]);
	for (i = 0; i + nl <= hl; i++) {
		for (j = 0; j < nl; j++) {
			c = h[i + j];
			if (c >= 'A' && c <= 'Z')
				c = (unsigned char)(c - 'A' + 'a');
			if (c != n[j])
				break;
		}
		if (j == nl) {
			sqlite3_result_int(ctx, 1);
			return;
		}
	}
	sqlite3_result_int(ctx, 0);
}

/* SQL vg_last_seen(device id, stored last_seen): the device's last poll,
 * the one buffered in memory (device_touch) when it is newer. */
static void
sql_last_seen(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct sq_store *st = sqlite3_user_data(ctx);

	(void)argc;
	sqlite3_result_int64(ctx, seen_last(st,
	    sqlite3_value_int64(argv[0]), sqlite3_value_int64(argv[1])));
}

/* Opens a connection with the settings every connection needs. */
static int
conn_open(struct sq_store *st, struct sq_conn **out, char *err,
    size_t errlen)
{
	struct sq_conn *c;
	int rc, r;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		vg_errf(err, errlen, "out of memory");
		return VG_ERR_NOMEM;
	}
	c->st = st;
	/* NOMUTEX: a connection is only ever used by its own thread. */
	rc = sqlite3_open_v2(st->path, &c->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		vg_errf(err, errlen, "cannot open database %s: %s", st->path,
		    c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
		r = rc == SQLITE_NOMEM ? VG_ERR_NOMEM : VG_ERR_IO;
		goto fail;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, SQ_BUSY_MS);
	if ((r = conn_exec(c, "PRAGMA foreign_keys = ON;"
	    "PRAGMA synchronous = FULL;", "database settings", err,
	    errlen)) != 0)
		goto fail;
	if ((rc = sqlite3_create_function_v2(c->db, "vg_path_has", 2,
	    SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
	    sql_path_has, NULL, NULL, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_create_function_v2(c->db, "vg_last_seen", 2,
	    SQLITE_UTF8 | SQLITE_DIRECTONLY, st, sql_last_seen, NULL, NULL,
	    NULL)) != SQLITE_OK) {
		r = sq_fail(c, rc, "database functions", err, errlen);
		goto fail;
	}
	*out = c;
	return 0;
fail:
	conn_free(c);
	return r;
}

static void
conn_link(struct sq_store *st, struct sq_conn *c)
{
	pthread_mutex_lock(&st->conns_mu);
	c->next = st->conns;
	if (st->conns != NULL)
		st->conns->prev = c;
	st->conns = c;
	pthread_mutex_unlock(&st->conns_mu);
}

/* The calling thread's connection, opened on first use. */
static int
conn_get(struct hub_store *s, struct sq_conn **out, char *err,
    size_t errlen)
{
	struct sq_store *st = SQ(s);
	struct sq_conn *c;
	int r;

	if ((c = pthread_getspecific(st->key)) != NULL) {
		*out = c;
		return 0;
	}
	if ((r = conn_open(st, &c, err, errlen)) != 0)
		return r;
	if (pthread_setspecific(st->key, c) != 0) {
		conn_free(c);
		vg_errf(err, errlen, "out of memory");
		return VG_ERR_NOMEM;
	}
	conn_link(st, c);
	*out = c;
	return 0;
}

static int
prepare(struct sq_conn *c, const char *sql, sqlite3_stmt **out, char *err,
    size_t errlen)
{
	int rc;

	rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    out, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(c, rc, "prepare", err, errlen);
	return 0;
}

/* A cached statement, reset with no bindings. The caller resets it when
 * done (stmt_done), which also ends its read of the database. */
static int
stmt_get(struct sq_conn *c, enum stmt_id id, sqlite3_stmt **out, char *err,
    size_t errlen)
{
	int r;

	c->bind_rc = SQLITE_OK;
	if (c->stmt[id] == NULL &&
	    (r = prepare(c, stmt_sql[id], &c->stmt[id], err, errlen)) != 0)
		return r;
	sqlite3_reset(c->stmt[id]);
	sqlite3_clear_bindings(c->stmt[id]);
	*out = c->stmt[id];
	return 0;
}

static void
stmt_done(sqlite3_stmt *q)
{
	if (q != NULL)
		sqlite3_reset(q);
}

/* Binding: a failure is kept and reported by step(). */
static void
note_bind(struct sq_conn *c, int rc)
{
	if (rc != SQLITE_OK && c->bind_rc == SQLITE_OK)
		c->bind_rc = rc;
}

static void
b_int(struct sq_conn *c, sqlite3_stmt *q, int i, int64_t v)
{
	note_bind(c, sqlite3_bind_int64(q, i, v));
}

/* NULL when v is 0. */
static void
b_int0(struct sq_conn *c, sqlite3_stmt *q, int i, int64_t v)
{
	note_bind(c, v != 0 ? sqlite3_bind_int64(q, i, v) :
	    sqlite3_bind_null(q, i));
}

/* The text must stay valid until the statement is reset. */
static void
b_text(struct sq_conn *c, sqlite3_stmt *q, int i, const char *s)
{
	note_bind(c, s != NULL ? sqlite3_bind_text(q, i, s, -1,
	    SQLITE_STATIC) : sqlite3_bind_null(q, i));
}

static void
b_blob(struct sq_conn *c, sqlite3_stmt *q, int i, const void *p, size_t n)
{
	note_bind(c, p != NULL ? sqlite3_bind_blob64(q, i, p, n,
	    SQLITE_STATIC) : sqlite3_bind_null(q, i));
}

/* sqlite3_step() that reports a failed bind first; returns the SQLite
 * code. */
static int
step(struct sq_conn *c, sqlite3_stmt *q)
{
	int rc;

	if (c->bind_rc != SQLITE_OK) {
		rc = c->bind_rc;
		c->bind_rc = SQLITE_OK;
		return rc;
	}
	return sqlite3_step(q);
}

/* Runs a statement that returns no rows. */
static int
run(struct sq_conn *c, sqlite3_stmt *q, const char *op, char *err,
    size_t errlen)
{
	int rc = step(c, q);

	sqlite3_reset(q);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return sq_fail(c, rc, op, err, errlen);
	return 0;
}

static int
tx_begin(struct sq_conn *c, const char *op, char *err, size_t errlen)
{
	sqlite3_stmt *q;
	int r;

	if ((r = stmt_get(c, ST_BEGIN, &q, err, errlen)) != 0)
		return r;
	return run(c, q, op, err, errlen);
}

static int
tx_commit(struct sq_conn *c, const char *op, char *err, size_t errlen)
{
	sqlite3_stmt *q;
	int r;

	if ((r = stmt_get(c, ST_COMMIT, &q, err, errlen)) != 0)
		return r;
	return run(c, q, op, err, errlen);
}

/* Undoes the open transaction, if SQLite has not already. */
static void
tx_rollback(struct sq_conn *c)
{
	sqlite3_stmt *q;

	if (sqlite3_get_autocommit(c->db))
		return;
	if (stmt_get(c, ST_ROLLBACK, &q, NULL, 0) == 0)
		run(c, q, "rollback", NULL, 0);
}

/* The calling thread's connection and its cached statement id, as
 * conn_get() and stmt_get() give them. */
static int
conn_stmt(struct hub_store *s, enum stmt_id id, struct sq_conn **c,
    sqlite3_stmt **q, char *err, size_t errlen)
{
	int r;

	if ((r = conn_get(s, c, err, errlen)) != 0)
		return r;
	return stmt_get(*c, id, q, err, errlen);
}

/* Writes "no <what> <id>" and returns VG_ERR_NOTFOUND. */
static int
not_found(char *err, size_t errlen, const char *what, int64_t id)
{
	vg_errf(err, errlen, "no %s %" PRId64, what, id);
	return VG_ERR_NOTFOUND;
}

/* Steps a statement that returns at most one row: 0 with the row to
 * read, VG_ERR_NOTFOUND (with no message: the caller names what is
 * missing) when there is none. The caller resets q. */
static int
step_one(struct sq_conn *c, sqlite3_stmt *q, const char *op, char *err,
    size_t errlen)
{
	int rc = step(c, q);

	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return VG_ERR_NOTFOUND;
	return sq_fail(c, rc, op, err, errlen);
}

/* run() for a statement meant to change a row: VG_ERR_NOTFOUND, with no
 * message, when it changed none. */
static int
run_changed(struct sq_conn *c, sqlite3_stmt *q, const char *op, char *err,
    size_t errlen)
{
	int r;

	if ((r = run(c, q, op, err, errlen)) != 0)
		return r;
	return sqlite3_changes(c->db) > 0 ? 0 : VG_ERR_NOTFOUND;
}

/* run() for an INSERT or UPDATE of a row with a unique name (user,
 * group): a name in use is the caller's mistake, not the database's. */
static int
run_named(struct sq_conn *c, sqlite3_stmt *q, const char *what,
    const char *name, const char *op, char *err, size_t errlen)
{
	int rc = step(c, q);

	sqlite3_reset(q);
	if (rc == SQLITE_CONSTRAINT_UNIQUE) {
		vg_errf(err, errlen, "%s name \"%s\" is already taken", what,
		    name);
		return VG_ERR_INVAL;
	}
	if (rc != SQLITE_DONE)
		return sq_fail(c, rc, op, err, errlen);
	return 0;
}

/* 0 when the row of key exists (statement of one id parameter), else
 * VG_ERR_NOTFOUND with "no <what> <key>". */
static int
row_exists(struct sq_conn *c, enum stmt_id id, int64_t key, const char *what,
    const char *op, char *err, size_t errlen)
{
	sqlite3_stmt *q;
	int r;

	if ((r = stmt_get(c, id, &q, err, errlen)) != 0)
		return r;
	b_int(c, q, 1, key);
	r = step_one(c, q, op, err, errlen);
	sqlite3_reset(q);
	return r == VG_ERR_NOTFOUND ? not_found(err, errlen, what, key) : r;
}

/* Runs a statement of at most one row and one integer column: *v and
 * *have = 1 for a row with a value, *have = 0 for none (no row, NULL). */
static int
lookup_int(struct sq_conn *c, sqlite3_stmt *q, const char *op, int64_t *v,
    int *have, char *err, size_t errlen)
{
	int r;

	*have = 0;
	if ((r = step_one(c, q, op, err, errlen)) == 0 &&
	    sqlite3_column_type(q, 0) != SQLITE_NULL) {
		*v = sqlite3_column_int64(q, 0);
		*have = 1;
	}
	stmt_done(q);
	return r == VG_ERR_NOTFOUND ? 0 : r;
}

/* The one integer the statement sid of one integer parameter a gives,
 * as lookup_int() reads it. */
static int
lookup_id(struct sq_conn *c, enum stmt_id sid, int64_t a, const char *op,
    int64_t *v, int *have, char *err, size_t errlen)
{
	sqlite3_stmt *q;
	int r;

	if ((r = stmt_get(c, sid, &q, err, errlen)) != 0)
		return r;
	b_int(c, q, 1, a);
	return lookup_int(c, q, op, v, have, err, errlen);
}

/* ---- JSON from columns ---- */

static json_t *
j_text(sqlite3_stmt *q, int i)
{
	const unsigned char *t;

	if (sqlite3_column_type(q, i) == SQLITE_NULL)
		return json_null();
	t = sqlite3_column_text(q, i);
	return t ? vg_json_bytes((const char *)t, (size_t)sqlite3_column_bytes(q, i)) : NULL;
}

static json_t *
j_int(sqlite3_stmt *q, int i)
{
	if (sqlite3_column_type(q, i) == SQLITE_NULL)
		return json_null();
	return json_integer(sqlite3_column_int64(q, i));
}

static json_t *
j_bool(sqlite3_stmt *q, int i)
{
	return json_boolean(sqlite3_column_int64(q, i) != 0);
}

/* A JSON document stored as text; fallback (a new reference) when the
 * column is NULL or not the expected type. */
static json_t *
j_doc(sqlite3_stmt *q, int i, json_t *fallback)
{
	const char *t = (const char *)sqlite3_column_text(q, i);
	json_t *j;

	if (t == NULL)
		return fallback;
	j = json_loads(t, JSON_DECODE_ANY, NULL);
	if (j == NULL || (fallback != NULL &&
	    json_typeof(j) != json_typeof(fallback))) {
		json_decref(j);
		return fallback;
	}
	json_decref(fallback);
	return j;
}

/* Sets o[k] = v (stealing v); VG_ERR_NOMEM when v is NULL. */
static int
jset(json_t *o, const char *k, json_t *v)
{
	return json_object_set_new(o, k, v) == 0 ? 0 : VG_ERR_NOMEM;
}

/* Sets the members of o from the statement's current row; fails only
 * for want of memory. */
typedef int (*row_json_fn)(struct sq_conn *c, sqlite3_stmt *q, json_t *o);

/* A new object (*out, the caller's) of the statement's current row. */
static int
row_object(struct sq_conn *c, sqlite3_stmt *q, row_json_fn fn, json_t **out)
{
	json_t *o;
	int r;

	if ((o = json_object()) == NULL)
		return VG_ERR_NOMEM;
	if ((r = fn(c, q, o)) != 0) {
		json_decref(o);
		return r;
	}
	*out = o;
	return 0;
}

/* The object of a statement's one row; VG_ERR_NOTFOUND, with no
 * message, when there is no row. Resets q. */
static int
row_json(struct sq_conn *c, sqlite3_stmt *q, row_json_fn fn, const char *op,
    json_t **out, char *err, size_t errlen)
{
	int r;

	*out = NULL;
	if ((r = step_one(c, q, op, err, errlen)) == 0)
		r = row_object(c, q, fn, out);
	stmt_done(q);
	return r;
}

/* The array (*out, the caller's) of the objects of all the statement's
 * rows. Resets q. */
static int
rows_json(struct sq_conn *c, sqlite3_stmt *q, row_json_fn fn,
    const char *op, json_t **out, char *err, size_t errlen)
{
	json_t *a, *o;
	int rc, r;

	*out = NULL;
	if ((a = json_array()) == NULL) {
		r = VG_ERR_NOMEM;
		goto out;
	}
	while ((rc = step(c, q)) == SQLITE_ROW) {
		if ((r = row_object(c, q, fn, &o)) != 0)
			goto out;
		if (json_array_append_new(a, o) != 0) {
			r = VG_ERR_NOMEM;
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		r = sq_fail(c, rc, op, err, errlen);
		goto out;
	}
	*out = a;
	a = NULL;
	r = 0;
out:
	stmt_done(q);
	json_decref(a);
	return r;
}

/* The object of the row of id (what: the kind of row, for "no <what>
 * <id>"), read by a statement of one id parameter. */
static int
get_by_id(struct hub_store *s, enum stmt_id sid, int64_t id, row_json_fn fn,
    const char *what, const char *op, json_t **out, char *err,
    size_t errlen)
{
	struct sq_conn *c;
	sqlite3_stmt *q;
	int r;

	*out = NULL;
	if ((r = conn_stmt(s, sid, &c, &q, err, errlen)) != 0)
		return r;
	b_int(c, q, 1, id);
	if ((r = row_json(c, q, fn, op, out, err, errlen)) == VG_ERR_NOTFOUND)
		not_found(err, errlen, what, id);
	return r;
}

/* The array of the rows of a statement without parameters. */
static int
list_all(struct hub_store *s, enum stmt_id sid, row_json_fn fn,
    const char *op, json_t **out, char *err, size_t errlen)
{
	struct sq_conn *c;
	sqlite3_stmt *q;
	int r;

	*out = NULL;
	if ((r = conn_stmt(s, sid, &c, &q, err, errlen)) != 0)
		return r;
	return rows_json(c, q, fn, op, out, err, errlen);
}

/* Deletes the row of id with a statement of one id parameter. */
static int
delete_by_id(struct hub_store *s, enum stmt_id sid, int64_t id,
    const char *what, const char *op, char *err, size_t errlen)
{
	struct sq_conn *c;
	sqlite3_stmt *q;
	int r;

	if ((r = conn_stmt(s, sid, &c, &q, err, errlen)) != 0)
		return r;
	b_int(c, q, 1, id);
	if ((r = run_changed(c, q, op, err, errlen)) == VG_ERR_NOTFOUND)
		return not_found(err, errlen, what, id);
	return r;
}

/* ---- the last_seen table ---- */

static size_t
seen_slot(int64_t id, size_t cap)
{
	uint64_t x = (uint64_t)id * 0x9e3779b97f4a7c15ULL;

	return (size_t)(x >> 32) & (cap - 1);
}

/* The entry of id, or NULL. Caller holds seen_mu. */
static struct seen *
seen_find(struct sq_store *st, int64_t id)
{
	size_t i;

	if (st->seen_cap == 0)
		return NULL;
	for (i = seen_slot(id, st->seen_cap); st->seen[i].id != 0;
	    i = (i + 1) & (st->seen_cap - 1))
		if (st->seen[i].id == id)
			return &st->seen[i];
	return NULL;
}

/* The entry of id, added if missing; NULL when out of memory. Caller
 * holds seen_mu. Entries are never removed: there is one per device. */
static struct seen *
seen_get(struct sq_store *st, int64_t id)
{
	struct seen *e, *old = st->seen, *n;
	size_t i, j, oldcap = st->seen_cap, cap;

	if ((e = seen_find(st, id)) != NULL)
		return e;
	if (st->seen_used + 1 > st->seen_cap / 2) {
		cap = oldcap ? oldcap * 2 : 64;
		if ((n = calloc(cap, sizeof(*n))) == NULL)
			return NULL;
		for (i = 0; i < oldcap; i++) {
			if (old[i].id == 0)
				continue;
			for (j = seen_slot(old[i].id, cap); n[j].id != 0;
			    j = (j + 1) & (cap - 1))
				;
			n[j] = old[i];
		}
		free(old);
		st->seen = n;
		st->seen_cap = cap;
	}
	for (i = seen_slot(id, st->seen_cap); st->seen[i].id != 0;
	    i = (i + 1) & (st->seen_cap - 1))
		;
	e = &st->seen[i];
	memset(e, 0, sizeof(*e));
	e->id = id;
	st->seen_used++;
	return e;
}

/* Forgets the cached state of a device (deleted, or a write failed). */
static void
seen_forget(struct sq_store *st, int64_t id)
{
	struct seen *e;

	pthread_mutex_lock(&st->seen_mu);
	if ((e = seen_find(st, id)) != NULL) {
		e->known = 0;
		e->dirty = 0;
		e->last_seen = 0;
	}
	pthread_mutex_unlock(&st->seen_mu);
}

/* The buffered last_seen of a device if newer than stored, else stored. */
static int64_t
seen_last(struct sq_store *st, int64_t id, int64_t stored)
{
	struct seen *e;
	int64_t v = stored;

	pthread_mutex_lock(&st->seen_mu);
	if ((e = seen_find(st, id)) != NULL && e->last_seen > v)
		v = e->last_seen;
	pthread_mutex_unlock(&st->seen_mu);
	return v;
}

/* ---- schema ---- */

static int
pragma_int(struct sq_conn *c, const char *sql, int64_t *v, char *err,
    size_t errlen)
{
	sqlite3_stmt *q = NULL;
	int rc, r = 0;

	if ((rc = sqlite3_prepare_v2(c->db, sql, -1, &q, NULL)) != SQLITE_OK)
		return sq_fail(c, rc, sql, err, errlen);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW)
		*v = sqlite3_column_int64(q, 0);
	else
		r = sq_fail(c, rc, sql, err, errlen);
	sqlite3_finalize(q);
	return r;
}

/*
 * Checks that the file is an empty database or ours, and brings the
 * schema up to date. Runs on the first connection, before anything else
 * touches the file (WAL mode is only set on a file known to be ours).
 */
static int
schema_setup(struct sq_conn *c, char *err, size_t errlen)
{
	const char *path = c->st->path;
	int64_t appid, version, tables;
	sqlite3_stmt *q;
	char sql[64];
	int rc, r, in_tx = 0, i, wal;

	if ((r = pragma_int(c, "PRAGMA application_id", &appid, err,
	    errlen)) != 0 ||
	    (r = pragma_int(c, "SELECT count(*) FROM sqlite_schema",
	    &tables, err, errlen)) != 0)
		return r;
	if (appid != SQ_APPLICATION_ID && (appid != 0 || tables != 0)) {
		vg_errf(err, errlen, "%s is a SQLite database but not a "
		    "vigil-hub database (application_id 0x%08" PRIx64 ")",
		    path, (uint64_t)appid & 0xffffffffu);
		return VG_ERR_FORMAT;
	}
	/* Only a new, empty file takes a page size. 8 KiB pages hold event
	 * rows (~250 bytes) with less waste at each page's end than the
	 * default 4 KiB: about 3% less space per event. */
	if (tables == 0 && (r = conn_exec(c, "PRAGMA page_size = 8192",
	    "set page size", err, errlen)) != 0)
		return r;
	/* SQLite stays in its old mode where WAL is impossible (no shared
	 * memory, as on some remote file systems): it answers the mode. */
	if ((rc = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode = WAL", -1,
	    &q, NULL)) != SQLITE_OK)
		return sq_fail(c, rc, "set WAL mode", err, errlen);
	rc = sqlite3_step(q);
	wal = rc == SQLITE_ROW && sqlite3_stricmp((const char *)
	    sqlite3_column_text(q, 0), "wal") == 0;
	sqlite3_finalize(q);
	if (rc != SQLITE_ROW)
		return sq_fail(c, rc, "set WAL mode", err, errlen);
	if (!wal) {
		vg_errf(err, errlen, "cannot use write-ahead logging for %s "
		    "(a local file system is needed)", path);
		return VG_ERR_IO;
	}
	if ((r = tx_begin(c, "schema", err, errlen)) != 0)
		return r;
	in_tx = 1;
	/* Read again under the write lock: another process may have just
	 * created or migrated the schema. */
	if ((r = pragma_int(c, "PRAGMA user_version", &version, err,
	    errlen)) != 0)
		goto out;
	if (version > SCHEMA_VERSION) {
		vg_errf(err, errlen, "database %s has schema version %" PRId64
		    ", newer than this vigil-hub knows (%d): use a newer "
		    "vigil-hub", path, version, SCHEMA_VERSION);
		r = VG_ERR_VERSION;
		goto out;
	}
	if (version < 0) {
		vg_errf(err, errlen, "database %s has an invalid schema "
		    "version %" PRId64, path, version);
		r = VG_ERR_CORRUPT;
		goto out;
	}
	for (i = (int)version; i < SCHEMA_VERSION; i++) {
		if ((r = conn_exec(c, migrations[i], "schema migration", err,
		    errlen)) != 0)
			goto out;
	}
	if (version < SCHEMA_VERSION) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		    SCHEMA_VERSION);
		if ((r = conn_exec(c, sql, "schema version", err,
		    errlen)) != 0)
			goto out;
		snprintf(sql, sizeof(sql), "PRAGMA application_id = %d",
		    SQ_APPLICATION_ID);
		if ((r = conn_exec(c, sql, "application id", err,
		    errlen)) != 0)
			goto out;
	}
	r = tx_commit(c, "schema", err, errlen);
	in_tx = 0;
out:
	if (in_tx && r != 0)
		tx_rollback(c);
	return r;
}

/* ---- users ---- */

static int
sq_user_create(struct hub_store *s, const char *name, const char *pwhash,
    int role, int64_t *id, char *err, size_t errlen)
{
	struct sq_conn *c;
	sqlite3_stmt *q;
	int r;

	if (name == NULL || pwhash == NULL || hs_role_name(role) == NULL) {
		vg_errf(err, errlen, "user_create: bad arguments");
		return VG_ERR_INVAL;
	}
	if ((r = conn_stmt(s, ST_USER_INSERT, &c, &q, err, errlen)) != 0)
		return r;
	b_text(c, q, 1, name);
	b_text(c, q, 2, pwhash);
	b_int(c, q, 3, role);
	b_int(c, q, 4, wall_now());
	if ((r = run_named(c, q, "user", name, "create user", err,
	    errlen)) != 0)
		return r;
	if (id != NULL)
		*id = sqlite3_last_insert_rowid(c->db);
	return 0;
}

/* {"id", "name", "role", "created", "disabled"[, "pwhash"]} of the row;
 * "pwhash" where the statement selects it (not in a list). */
static int
user_json(struct sq_conn *c, sqlite3_stmt *q, json_t *o)
{
	const char *role = hs_role_name(sqlite3_column_int(q, 2));
	int with_hash = sqlite3_column_count(q) > 5;

	(void)c;
	if (jset(o, "id", j_int(q, 0)) != 0 ||
	    jset(o, "name", j_text(q, 1)) != 0 ||
	    jset(o, "role", role ? json_string(role) : json_null()) != 0 ||
	    jset(o, "created", j_int(q, 3)) != 0 ||
	    jset(o, "disabled", j_bool(q, 4)) != 0 ||
	    (with_hash && jset(o, "pwhash", j_text(q, 5)) != 0))
		return VG_ERR_NOMEM;
	return 0;
}

static int
sq_user_get_by_name(struct hub_store *s, const char *name, json_t **out,
    char *err, size_t errlen)
{
	struct sq_conn *c;
	sqlite3_stmt *q;
	int r;

	*out = NULL;
	if (name == NULL) {
		vg_errf(err, errlen, "no user name");
		return VG_ERR_INVAL;
	}
	if ((r = conn_stmt(s, ST_USER_BY_NAME, &c, &q, err, errlen)) != 0)
		return r;
	b_text(c, q, 1, name);
	if ((r = row_json(c, q, user_json, "get user", out, err,
	    errlen)) == VG_ERR_NOTFOUND)
		vg_errf(err, errlen, "no user \"%s\"", name);
	return r;
}

static int
sq_user_get(struct hub_store *s, int64_t id, json_t **out, char *err,
    size_t errlen)
{
	return get_by_id(s, ST_USER_BY_ID, id, user_json, "user", "get user",
	    out, err, errlen);
}

static int
sq_user_list(struct hub_store *s, json_t **out, char *err, size_t errlen)
{
	return list_all(s, ST_USER_LIST, user_json, "list users", out, err,
	    errlen);
}

static int
sq_user_update(struct hub_store *s, int64_t id, int role, const char *pwhash,
    int disabled, char *err, size_t errlen)
{
	struct sq_conn *c;
	sqlite3_stmt *q;
	int r, old_role = 0;

	if ((role != 0 && hs_role_name(role) == NULL) || disabled < -1 ||
	    disabled > 1) {
		vg_errf(err, errlen, "user_update: bad role or disabled value");
		return VG_ERR_INVAL;
	}
	if ((r = conn_get(s, &c, err, errlen)) != 0 ||
	    (r = tx_begin(c, "update user", err, errlen)) != 0)
		return r;
	if (role != 0) {
		if ((r = stmt_get(c, ST_USER_BY_ID, &q, err, errlen)) != 0)
			goto out;
		b_int(c, q, 1, id);
		if ((r = step_one(c, q, "update user", err, errlen)) == 0)
			old_role = sqlite3_column_int(q, 2);
		stmt_done(q);
		if (r == VG_ERR_NOTFOUND)
			r = not_found(err, errlen, "user", id);
		if (r != 0)
			goto out;
	}
	if ((r = stmt_get(c, ST_USER_UPDATE, &q, err, errlen)) != 0)
		goto out;
	b_int(c, q, 1, id);
	b_int(c, q, 2, role);
	b_text(c, q, 3, pwhash);
	b_int(c, q, 4, disabled);
	if ((r = run_changed(c, q, "update user", err, errlen)) ==
	    VG_ERR_NOTFOUND)
		r = not_found(err, errlen, "user", id);
	if (r != 0)
		goto out;
	/* Whoever holds a session got it under the old password, role or
	 * state: signed out everywhere at once. */
	if (pwhash != NULL || disabled == 1 ||
	    (role != 0 && role != old_role)) {
		if ((r = stmt_get(c, ST_USER_SESSIONS_DELETE, &q, err,
		    errlen)) != 0)
			goto out;
		b_int(c, q, 1, id);
		if ((r = run(c, q, "update user", err, errlen)) != 0)
			goto out;
	}
	r = tx_commit(c, "update user", err, errlen);
out:
	if (r != 0)
		tx_rollback(c);
	return r;
}

static int
sq_user_delete(struct hub_store *s, int64_t id, char *err, size_t errlen)
{
	/* Sessions go with the user (ON DELETE CASCADE). */
	return delete_by_id(s, ST_USER_DELETE, id, "user", "delete user",
	    err, errlen);
}

/* ---- sessions ---- */

#define TOKEN_HASH_LEN 32

static int
sq_session_create(struct hub_store *s, const unsigned char *token_hash,
    int64_t user_id, const char *csrf, int64_t created, int64_t expires,
    const char *peer, char *err, size_t errlen)
{
	struct sq_conn *c;
	sqlite3_stmt *q;
	int rc, r;

	if (token_hash == NULL || csrf == NULL) {
		vg_errf(err, errlen, "session_create: bad arguments");
		return VG_ERR_INVAL;
	}
	if ((r = conn_stmt(s, ST_SESSION_INSERT, &c, &q, err, errlen)) != 0)
		return r;
	b_blob(c, q, 1, token_hash, TOKEN_HASH_LEN);
	b_int(c, q, 2, user_id);
	b_text(c, q, 3, csrf);
	b_int(c, q, 4, created);
	b_int(c, q, 5, expires);
	b_text(c, q, 6, peer);
	rc = step(c, q);
	sqlite3_reset(q);
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
		vg_errf(err, errlen, "no user %" PRId64, user_id);
		return VG_ERR_NOTFOUND;
	}
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
		vg_errf(err, errlen, "session token already exists");
		return VG_ERR_INVAL;
	}
	if (rc != SQLITE_DONE)
		return sq_fail(c, rc, "create session", err, errlen);
	return 0;
}

static int
session_json(struct sq_conn *c, sqlite3_stmt *q, json_t *o)
{
	(void)c;
	if (jset(o, "user_id", j_int(q, 0)) != 0 ||
	    jset(o, "csrf", j_text(q, 1)) != 0 ||
	    jset(o, "created", j_int(q, 2)) != 0 ||
	    jset(o, "expires", j_int(q, 3)) != 0 ||
	    jset(o, "last_used", j_int(q, 4)) != 0)
		return VG_ERR_NOMEM;
	return 0;
}

static int
sq_session_get(struct hub_store *s, const unsigned char *token_hash,
    json_t **out, char *err, size_t errlen)
{
	struct sq_conn *c;
	sqlite3_stmt *q;
	int r;

	*out = NULL;
	if ((r = conn_stmt(s, ST_SESSION_GET, &c, &q, err, errlen)) != 0)
		return r;
	b_blob(c, q, 1, token_hash, TOKEN_HASH_LEN);
	if ((r = row_json(c, q, session_json, "get session", out, err,
	    errlen)) == VG_ERR_NOTFOUND)
		vg_errf(err, errlen, "no such session");
	return r;
}

static int
sq_session_touch(struct hub_store *s, const unsigned char *token_hash,
    int64_t now, char *err, size_t errlen)
{
	struct sq_conn *c;
	sqlite3_stmt *q;
	int r;

	if ((r = conn_stmt(s, ST_SESSION_TOUCH, &c, &q, err, errlen)) != 0)
		return r;
	b_blob(c, q, 1, token_hash, TOKEN_HASH_LEN);
	b_int(c, q, 2, now);
	if ((r = run(c, q, "touch session", err, errlen)) != 0)
		return r;
	if (sqlite3_changes(c->db) > 0)
		return 0;
	/* Nothing written: gone, or already touched this second. */
	if ((r = stmt_get(c, ST_SESSION_EXISTS, &q, err, errlen)) != 0)
		return r;
	b_blob(c, q, 1, token_hash, TOKEN_HASH_LEN);
	r = step_one(c, q, "touch session", err, errlen);
	sqlite3_reset(q);
	if (r == VG_ERR_NOTFOUND)
		vg_errf(err, errlen, "no such session");
	return r;
}

static int
sq_session_delete(struct hub_store *s, const unsigned char *token_hash,
    char *err, size_t errlen)
{
	struct sq_conn *c;
	sqlite3_stmt *q;
	int r;

	if ((r = conn_stmt(s, ST_SESSION_DELETE, &c, &q, err, errlen)) != 0)
		return r;
	b_blob(c, q, 1, token_hash, TOKEN_HASH_LEN);
	if ((r = run_changed(c, q, "delete session", err, errlen)) ==
	    VG_ERR_NOTFOUND)
		vg_errf(err, errlen, "no such session");
	return r;
}

static int
sq_session_purge(struct hub_store *s, int64_t now, int64_t idle, char *err,
    size_t errlen)
{
	struct sq_conn *c;
	sqlite3_stmt *q;
	int r;

	if ((r = conn_stmt(s, ST_SESSION_PURGE, &c, &q, err, errlen)) != 0)
		return r;
	b_int(c, q, 1, now);
	b_int(c, q, 2, now - idle);
	return run(c, q, "purge sessions", err, errlen);
}

/* ---- devices ---- */

/* Counts n events of (device, type) received at `received` in the
 * rollup (migration 2), in the transaction that stores them. */
static int
rollup_add(struct sq_conn *c, int64_t device, int type, int64_t received,
    int64_t n, char *err, size_t errlen)
{
	sqlite3_stmt *q;
	int r;

	if ((r = stmt_get(c, ST_ROLLUP_ADD, &q, err, errlen)) != 0)
		return r;
	b_int(c, q, 1, received / 3600);
	b_int(c, q, 2, device);
	b_int(c, q, 3, type);
	b_int(c, q, 4, n);
	return run(c, q, "count events", err, errlen);
}

/* Stores an event the hub makes itself (online, offline, clone ...), in
 * the caller's transaction. */
static int
hub_event(struct sq_conn *c, int64_t device, int type, const char *message,
    int64_t now, char *err, size_t errlen)
{
	sqlite3_stmt *q;
	int r;

	if ((r = stmt_get(c, ST_EVENT_HUB, &q, err, errlen)) != 0)
		return r;
	b_int(c, q, 1, device);
	b_int(c, q, 2, now * 1000000000);
	b_int(c, q, 3, now);
	b_int(c, q, 4, type);
	b_text(c, q, 5, message);
	if ((r = run(c, q, "store event", err, errlen)) != 0)
		return r;
	return rollup_add(c, device, type, now, 1, err, errlen);
}

/* Whether two hashes are equal, in a time that does not depend on
 * where they differ. */
static int
hash_equal(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	unsigned char d = 0;
	size_t i;

	for (i = 0; i < n; i++)
		d |= (unsigned char)(x[i] ^ y[i]);
	return d == 0;
}

/* A device found by its machine id, as device_register() weighs it. */
struct reg_match {
	int64_t id;
	char *host;                     /* its host name (malloc'd) */
	int64_t last;                   /* last poll or registration */
};

static int
reg_match_set(struct reg_match *m, sqlite3_stmt *q, int64_t last)
{
	const char *host = (const char *)sqlite3_column_text(q, 1);

	free(m->host);
	m->id = sqlite3_column_int64(q, 0);
	m->last = last;
	m->host = strdup(host != NULL ? host : "");
	return m->host != NULL ? 0 : VG_ERR_NOMEM;
}

/*
 * Looks at every device with the registering machine's id (under the
 * write lock): *same is the device to give back (the one whose credential
 * the agent gave, else one of the same machine that is not alive), or
 * else *alive is a device of the same machine that is alive, and *first
 * the first device with that machine id at all.
 */
static int
reg_find(struct sq_conn *c, const struct hs_register *in, int64_t now,
    struct reg_match *same, int *proven, struct reg_match *alive,
    struct reg_match *first, char *err, size_t errlen)
{
	struct reg_match stale = { 0, NULL, 0 };
	const char *macs = in->macs_json ? in->macs_json : "[]";
	sqlite3_stmt *q;
	int64_t id, last, period;
	int rc, r;

	*proven = 0;
	if ((r = stmt_get(c, ST_DEVICE_BY_MACHINE, &q, err, errlen)) != 0)
		return r;
	b_text(c, q, 1, in->machine_id);
	while ((rc = step(c, q)) == SQLITE_ROW) {
		id = sqlite3_column_int64(q, 0);
		last = seen_last(c->st, id, sqlite3_column_int64(q, 4));
		if (first->id == 0 && (r = reg_match_set(first, q, last)) != 0)
			goto out;
		if (!hs_same_machine((const char *)sqlite3_column_text(q, 1),
		    (const char *)sqlite3_column_text(q, 2), in->hostname,
		    macs))
			continue;
		if (in->old_cred_hash != NULL && !*proven &&
		    sqlite3_column_bytes(q, 3) == TOKEN_HASH_LEN &&
		    hash_equal(sqlite3_column_blob(q, 3), in->old_cred_hash,
		    TOKEN_HASH_LEN)) {
			if ((r = reg_match_set(same, q, last)) != 0)
				goto out;
			*proven = 1;
			continue;
		}
		period = sqlite3_column_int64(q, 5);
		if (period <= 0)
			period = in->default_poll_period;
		if (last + period + in->offline_grace < now) {
			if (stale.id == 0 &&
			    (r = reg_match_set(&stale, q, last)) != 0)
				goto out;
		} else if (alive->id == 0 &&
		    (r = reg_match_set(alive, q, last)) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		r = sq_fail(c, rc, "register device", err, errlen);
		goto out;
	}
	/* The credential proves more than a silence does. */
	if (!*proven && stale.id != 0) {
		*same = stale;
		stale.host = NULL;
	}
	r = 0;
out:
	stmt_done(q);
	free(stale.host);
	return r;
}

/* Gives the device back to a machine that registers again. */
static int
reg_again(struct sq_conn *c, const struct hs_register *in,
    const struct reg_match *same, int proven, int64_t now, char *err,
    size_t errlen)
{
	const char *name = in->name ? in->name : in->hostname;
	char msg[1024], when[VG_TIME_BUFLEN];
	sqlite3_stmt *q;
	int r;

	if ((r = stmt_get(c, ST_DEVICE_REREGISTER, &q, err, errlen)) != 0)
		return r;
	b_int(c, q, 1, same->id);
	b_text(c, q, 2, name);
	b_text(c, q, 3, in->hostname);
	b_text(c, q, 4, in->os ? in->os : "");
	b_text(c, q, 5, in->agent_version);
	b_text(c, q, 6, in->ips_json ? in->ips_json : "[]");
	b_text(c, q, 7, in->macs_json ? in->macs_json : "[]");
	b_int0(c, q, 8, in->poll_period);
	b_blob(c, q, 9, in->cred_hash, TOKEN_HASH_LEN);
	b_text(c, q, 10, in->peer);
	if ((r = run(c, q, "register device", err, errlen)) != 0)
		return r;
	/* Whoever looks at the device sees that it changed hands, and
	 * on what grounds. */
	if (proven) {
		snprintf(msg, sizeof(msg), "registered again from %s with its "
		    "credential: host %s, agent %s", in->peer ? in->peer : "?",
		    in->hostname, in->agent_version ? in->agent_version : "?");
	} else {
		vg_time_format(same->last * 1000000000, when);
		snprintf(msg, sizeof(msg), "registered again from %s without "
		    "its credential (no poll since %s, so its agent was taken "
		    "to be gone): host %s, agent %s; the previous credential "
		    "no longer works", in->peer ? in->peer : "?", when,
		    in->hostname, in->agent_version ? in->agent_version : "?");
	}
	return hub_event(c, same->id, HS_EV_REGISTERED, msg, now, err,
	    errlen);
}

/* Makes a new device; orig (id 0: none) is the device whose machine id
 * it shares. */
static int
reg_new(struct sq_conn *c, const struct hs_register *in,
    const struct reg_match *orig, int orig_alive, int64_t now, int64_t *id,
    char *err, size_t errlen)
{
	const char *name = in->name ? in->name : in->hostname;
	const char *peer = in->peer ? in->peer : "?";
	char msg[1024];
	sqlite3_stmt *q;
	int r;

	if ((r = stmt_get(c, ST_DEVICE_INSERT, &q, err, errlen)) != 0)
		return r;
	b_text(c, q, 1, name);
	b_text(c, q, 2, in->hostname);
	b_text(c, q, 3, in->os ? in->os : "");
	b_text(c, q, 4, in->machine_id);
	b_text(c, q, 5, in->agent_version);
	b_text(c, q, 6, in->ips_json ? in->ips_json : "[]");
	b_text(c, q, 7, in->macs_json ? in->macs_json : "[]");
	b_int0(c, q, 8, in->poll_period);
	b_blob(c, q, 9, in->cred_hash, TOKEN_HASH_LEN);
	b_int(c, q, 10, now);
	b_int0(c, q, 11, orig->id);
	b_text(c, q, 12, in->peer);
	if ((r = run(c, q, "register device", err, errlen)) != 0)
		return r;
	*id = sqlite3_last_insert_rowid(c->db);
	if ((r = stmt_get(c, ST_DEVICE_SET_AGENT, &q, err, errlen)) != 0)
		return r;
	b_int(c, q, 1, *id);
	if ((r = run(c, q, "register device", err, errlen)) != 0)
		return r;
	snprintf(msg, sizeof(msg), "registered from %s: host %s, agent %s",
	    peer, in->hostname, in->agent_version ? in->agent_version : "?");
	if ((r = hub_event(c, *id, HS_EV_REGISTERED, msg, now, err,
	    errlen)) != 0)
		return r;
	if (orig->id == 0)
		return 0;
	if (orig_alive)
		snprintf(msg, sizeof(msg), "machine id %s and host name or "
		    "MAC address of device %" PRId64 " (host %s), which is "
		    "still polling, registered from %s without that device's "
		    "credential: taken for a cloned machine; registered as a "
		    "new device", in->machine_id, orig->id, orig->host, peer);
	else
		snprintf(msg, sizeof(msg), "machine id %s is already used by "
		    "device %" PRId64 " (host %s): this looks like a cloned "
		    "machine; registered as a new device", in->machine_id,
		    orig->id, orig->host);
	if ((r = hub_event(c, *id, HS_EV_CLONE, msg, now, err, errlen)) != 0)
		return r;
	if (orig_alive)
		snprintf(msg, sizeof(msg), "device %" PRId64 " (host %s) "
		    "registered from %s with this device's machine id %s and "
		    "host name or MAC address but without its credential: a "
		    "cloned machine, or someone posing as this one; this "
		    "device keeps its credential", *id, in->hostname, peer,
		    in->machine_id);
	else
		snprintf(msg, sizeof(msg), "device %" PRId64 " (host %s) "
		    "registered with this device's machine id %s: a cloned "
		    "machine", *id, in->hostname, in->machine_id);
	return hub_event(c, orig->id, HS_EV_CLONE, msg, now, err, errlen);
}

static int
sq_device_register(struct hub_store *s, const struct hs_register *in,
    struct hs_register_result *res, char *err, size_t errlen)
{
	struct reg_match same = { 0, NULL, 0 }, alive = { 0, NULL, 0 };
	struct reg_match first = { 0, NULL, 0 };
	int64_t id, now = in->now > 0 ? in->now : wall_now();
	struct sq_conn *c;
	int r, proven = 0;

	memset(res, 0, sizeof(*res));
	if (in->hostname == NULL || in->machine_id == NULL ||
	    in->machine_id[0] == '\0' || in->cred_hash == NULL) {
		vg_errf(err, errlen, "device_register: hostname, machine_id "
		    "and credential are required");
		return VG_ERR_INVAL;
	}
	if ((r = conn_get(s, &c, err, errlen)) != 0 ||
	    (r = tx_begin(c, "register device", err, errlen)) != 0)
		return r;
	if ((r = reg_find(c, in, now, &same, &proven, &alive, &first, err,
	    errlen)) != 0)
		goto out;
	if (same.id != 0) {
		if ((r = reg_again(c, in, &same, proven, now, err,
		    errlen)) != 0)
			goto out;
		res->device_id = same.id;
		res->with_credential = proven;
	} else {
		/* A living device of the same machine is the one being
		 * copied (or impersonated); else the first with the id. */
		if ((r = reg_new(c, in, alive.id != 0 ? &alive : &first,
		    alive.id != 0, now, &id, err, errlen)) != 0)
			goto out;
		res->device_id = id;
		res->created = 1;
		res->clone_of = alive.id != 0 ? alive.id : first.id;
		res->clone_alive = alive.id != 0;
	}
	r = tx_commit(c, "register device", err, errlen);
out:
	if (r != 0) {
		tx_rollback(c);
		memset(res, 0, sizeof(*res));
		if (r == VG_ERR_NOMEM)
			vg_errf(err, errlen, "out of memory");
	}
	free(same.host);
	free(alive.host);
	free(first.host);
	return r;
}

static int
agent_json(struct sq_conn *c, sqlite3_stmt *q, json_t *o)
{
	char hex[2 * TOKEN_HASH_LEN + 1];

	(void)c;
	hex[0] = '\0';
	if (sqlite3_column_bytes(q, 1) == TOKEN_HASH_LEN)
		vg_hex_encode(sqlite3_column_blob(q, 1), TOKEN_HASH_LEN, hex);
	if (jset(o, "id", j_int(q, 0)) != 0 ||
	    jset(o, "cred_hash", json_string(hex)) != 0 ||
	    jset(o, "deleted", json_false()) != 0)
		return VG_ERR_NOMEM;
	return 0;
}

static int
sq_agent_auth(struct hub_store *s, int64_t agent_id, json_t **out,
    char *err, size_t errlen)
{
	return get_by_id(s, ST_AGENT_AUTH, agent_id, agent_json, "agent",
	    "agent credential", out, err, errlen);
}

static int
sq_device_owned(struct hub_store *s, int64_t agent_id, int64_t device_id)
{
	struct sq_conn *c;
	sqlite3_stmt *q;
	int r;

	if ((r = conn_stmt(s, ST_DEVICE_AGENT, &c, &q, NULL, 0)) != 0)
		return r;
	b_int(c, q, 1, device_id);
	if ((r = step_one(c, q, "device owner", NULL, 0)) == 0 &&
	    sqlite3_column_int64(q, 0) != agent_id)
		r = VG_ERR_PERM;
	stmt_done(q);
	return r;
}

static int
sq_device_last_seq(struct hub_store *s, int64_t device_id, uint64_t *seq,
    char *err, size_t errlen)
{
	struct sq_conn *c;
	sqlite3_stmt *q;
	int rc, r;

	*seq = 0;
	if ((r = conn_stmt(s, ST_DEVICE_LAST_SEQ, &c, &q, err, errlen)) != 0)
		return r;
	b_int(c, q, 1, device_id);
	rc = step(c, q);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_type(q, 0) != SQLITE_NULL)
			*seq = (uint64_t)sqlite3_column_int64(q, 0);
		r = 0;
	} else
		r = sq_fail(c, rc, "last event id", err, errlen);
	stmt_done(q);
	return r;
}

static const char *
ptype_name(int t)
{
	switch (t) {
	case HS_PT_NETWORK: return "network";
	case HS_PT_LINUX: return "linux";
	case HS_PT_WINDOWS: return "windows";
	}
	return NULL;
}

static const char *
protocol_name(int p)
{
	switch (p) {
	case 1: return "ssh";
	case 2: return "telnet";
	case 3: return "smb";
	}
	return NULL;
}

static const char *
host_key_state_name(int st)
{
	switch (st) {
	case HS_HK_TRUSTED: return "trusted";
	case HS_HK_CHANGED: return "changed";
	}
	return "unknown";
}

/* A JSON string of a static name, or null. */
static json_t *
j_name(const char *name)
{
	return name != NULL ? json_string(name) : json_null();
}

/* The "proxied" member of a device object: DEVICE_COLS from column 17. */
static json_t *
proxied_json(sqlite3_stmt *q)
{
	json_t *o;

	if ((o = json_object()) == NULL)
		return NULL;
	if (jset(o, "type", j_name(ptype_name(sqlite3_column_int(q,
	    17)))) != 0 ||
	    jset(o, "host", j_text(q, 18)) != 0 ||
	    jset(o, "port", j_int(q, 19)) != 0 ||
	    jset(o, "protocol", j_name(protocol_name(sqlite3_column_int(q,
	    20)))) != 0 ||
	    jset(o, "profile", j_text(q, 21)) != 0 ||
	    jset(o, "credential_id", j_int(q, 22)) != 0 ||
	    jset(o, "credential", j_text(q, 23)) != 0 ||
	    jset(o, "proxy_id", j_int(q, 24)) != 0 ||
	    jset(o, "proxy", j_text(q, 25)) != 0 ||
	    jset(o, "schedule", j_int(q, 9)) != 0 ||
	    jset(o, "legacy_ssh", j_bool(q, 26)) != 0 ||
	    jset(o, "host_key", j_text(q, 27)) != 0 ||
	    jset(o, "host_key_state", json_string(host_key_state_name(
	    sqlite3_column_int(q, 28)))) != 0 ||
	    jset(o, "host_key_offered", j_text(q, 29)) != 0 ||
	    jset(o, "last_collect", j_int(q, 30)) != 0 ||
	    jset(o, "last_error", j_text(q, 31)) != 0 ||
	    jset(o, "config_version", j_int(q, 32)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The device object of a DEVICE_COLS row. */
static int
device_json(struct sq_conn *c, sqlite3_stmt *q, json_t *o)
{
	int64_t last = seen_last(c->st, sqlite3_column_int64(q, 0),
	    sqlite3_column_int64(q, 11));
	int proxied = sqlite3_column_int(q, 16) == HS_KIND_PROXIED;

	if (jset(o, "id", j_int(q, 0)) != 0 ||
	    jset(o, "agent_id", j_int(q, 1)) != 0 ||
	    jset(o, "name", j_text(q, 2)) != 0 ||
	    jset(o, "hostname", j_text(q, 3)) != 0 ||
	    jset(o, "os", j_text(q, 4)) != 0 ||
	    jset(o, "machine_id", j_text(q, 5)) != 0 ||
	    jset(o, "agent_version", j_text(q, 6)) != 0 ||
	    jset(o, "ips", j_doc(q, 7, json_array())) != 0 ||
	    jset(o, "macs", j_doc(q, 8, json_array())) != 0 ||
	    jset(o, "poll_period", j_int(q, 9)) != 0 ||
	    jset(o, "created", j_int(q, 10)) != 0 ||
	    jset(o, "last_seen", sqlite3_column_type(q, 11) == SQLITE_NULL &&
	    last == 0 ? json_null() : json_integer(last)) != 0 ||
	    jset(o, "online", j_bool(q, 12)) != 0 ||
	    jset(o, "clone_of", j_int(q, 13)) != 0 ||
	    jset(o, "groups", j_doc(q, 14, json_array())) != 0 ||
	    jset(o, "peer", j_text(q, 15)) != 0 ||
	    jset(o, "kind", json_string(proxied ? "proxied" : "agent")) != 0 ||
	    (proxied && jset(o, "proxied", proxied_json(q)) != 0))
		return VG_ERR_NOMEM;
	return 0;
}

static int
sq_device_get(struct hub_store *s, int64_t id, json_t **out, char *err,
    size_t errlen)
{
	return get_by_id(s, ST_DEVICE_GET, id, device_json, "device",
	    "get device", out, err, errlen);
}

static int
sq_device_list(struct hub_store *s, const struct hs_device_filter *f,
    json_t **out, char *err, size_t errlen)
{
	struct sq_conn *c;
	sqlite3_stmt *q;
	int r;

	*out = NULL;
	if (f->kind < 0 || f->kind > 2) {
		vg_errf(err, errlen, "list devices: unknown kind %d", f->kind);
		return VG_ERR_INVAL;
	}
	if ((r = conn_stmt(s, ST_DEVICE_LIST, &c, &q, err, errlen)) != 0)
		return r;
	b_int(c, q, 1, f->after_id);
	b_int(c, q, 2, f->group_id);
	b_int(c, q, 3, f->status);
	b_text(c, q, 4, f->os && f->os[0] ? f->os : NULL);
	b_text(c, q, 5, f->text && f->text[0] ? f->text : NULL);
	b_int(c, q, 6, clamp_limit(f->limit));
	b_int0(c, q, 7, f->seen_before);
	b_int0(c, q, 8, f->seen_after);
	b_int(c, q, 9, f->kind);
	return rows_json(c, q, device_json, "list devices", out, err, errlen);
}

static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs a statement of (device id, limit) that deletes up to limit rows,
 * in a transaction of its own; *n = how many it deleted. */
static int
delete_chunk(struct sq_conn *c, enum stmt_id sid, int64_t id, int limit,
    int *n, char *err, size_t errlen)
{
	sqlite3_stmt *q;
	int r;

	*n = 0;
	if ((r = tx_begin(c, "delete device", err, errlen)) != 0)
		return r;
	if ((r = stmt_get(c, sid, &q, err, errlen)) != 0)
		goto out;
	b_int(c, q, 1, id);
	b_int(c, q, 2, limit);
	if ((r = run(c, q, "delete device", err, errlen)) != 0)
		goto out;
	*n = sqlite3_changes(c->db);
	r = tx_commit(c, "delete device", err, errlen);
out:
	if (r != 0)
		tx_rollback(c);
	return r;
}

static int
sq_device_delete(struct hub_store *s, int64_t id, char *err, size_t errlen)
{
	static const enum stmt_id chunked[] = { ST_DEVICE_EVENTS_DELETE,
		ST_DEVICE_BASELINE_DELETE, ST_DEVICE_CONFIGS_DELETE };
	struct timespec pause;
	struct sq_conn *c;
	sqlite3_stmt *q;
	double t0, held;
	int64_t proxied = 0;
	size_t i;
	int r, n, have;

	/* The devices a proxy collects would be left without one. */
	if ((r = conn_get(s, &c, err, errlen)) != 0 ||
	    (r = lookup_id(c, ST_DEVICE_PROXIED_COUNT, id, "delete device",
	    &proxied, &have, err, errlen)) != 0)
		return r;
	if (proxied > 0) {
		vg_errf(err, errlen, "device %" PRId64 " is the proxy of %"
		    PRId64 " proxied device%s: delete them or give them "
		    "another proxy first", id, proxied, proxied == 1 ? "" :
		    "s");
		return VG_ERR_INVAL;
	}
	/* The credential first, on its own: from then on the agent can
	 * add nothing, however long the rest takes. */
	if ((r = stmt_get(c, ST_DEVICE_REVOKE, &q, err, errlen)) != 0)
		return r;
	b_int(c, q, 1, id);
	if ((r = run_changed(c, q, "delete device", err, errlen)) != 0)
		return r == VG_ERR_NOTFOUND ? not_found(err, errlen, "device",
		    id) : r;
	/* A device may have millions of events: deleted in one
	 * transaction they would hold the write lock, and every agent's
	 * batch, for as long. In chunks, with a pause as long as each
	 * chunk held the lock (the writers waiting retry every few tens
	 * of milliseconds). */
	for (i = 0; i < sizeof(chunked) / sizeof(chunked[0]); i++) {
		for (;;) {
			t0 = mono_now();
			if ((r = delete_chunk(c, chunked[i], id,
			    SQ_DELETE_CHUNK, &n, err, errlen)) != 0)
				return r;
			if (n < SQ_DELETE_CHUNK)
				break;
			held = mono_now() - t0;
			if (held < 0.005)
				held = 0.005;
			if (held > 0.1)
				held = 0.1;
			pause.tv_sec = 0;
			pause.tv_nsec = (long)(held * 1e9);
			nanosleep(&pause, NULL);
		}
	}
	/* What is left (memberships, events stored meanwhile) goes with
	 * the row (ON DELETE CASCADE). */
	if ((r = delete_by_id(s, ST_DEVICE_DELETE, id, "device",
	    "delete device", err, errlen)) == 0)
		seen_forget(SQ(s), id);
	return r;
}

/* Marks a device online with an ONLINE event, durably. */
static int
device_set_online(struct sq_conn *c, int64_t id, int64_t now, char *err,
    size_t errlen)
{
	sqlite3_stmt *q;
	int r;

	if ((r = tx_begin(c, "mark device online", err, errlen)) != 0)
		return r;
	if ((r = stmt_get(c, ST_DEVICE_ONLINE, &q, err, errlen)) != 0)
		goto out;
	b_int(c, q, 1, id);
	b_int(c, q, 2, now);
	if ((r = run(c, q, "mark device online", err, errlen)) != 0)
		goto out;
	/* Another thread may have done it since we looked. */
	if (sqlite3_changes(c->db) > 0 &&
	    (r = hub_event(c, id, HS_EV_ONLINE, "polling again", now, err,
	    errlen)) != 0)
		goto out;
	r = tx_commit(c, "mark device online", err, errlen);
out:
	if (r != 0)
		tx_rollback(c);
	return r;
}

static int
sq_device_touch(struct hub_store *s, int64_t id, int64_t now, char *err,
    size_t errlen)
{
	struct sq_store *st = SQ(s);
	struct sq_conn *c;
	sqlite3_stmt *q;
	struct seen *e;
	int64_t stored_seen = 0;
	int r, known, online = 0;

	if (id <= 0)
		return not_found(err, errlen, "device", id);
	pthread_mutex_lock(&st->seen_mu);
	if ((e = seen_find(st, id)) != NULL && e->known && e->online) {
		/* The common case: an online device polls again. */
		if (now > e->last_seen) {
			e->last_seen = now;
			e->dirty = 1;
		}
		pthread_mutex_unlock(&st->seen_mu);
		return 0;
	}
	known = e != NULL && e->known;
	pthread_mutex_unlock(&st->seen_mu);

	if ((r = conn_get(s, &c, err, errlen)) != 0)
		return r;
	if (!known) {
		if ((r = stmt_get(c, ST_DEVICE_STATE, &q, err, errlen)) != 0)
			return r;
		b_int(c, q, 1, id);
		if ((r = step_one(c, q, "device state", err, errlen)) == 0) {
			online = sqlite3_column_int(q, 0) != 0;
			stored_seen = sqlite3_column_int64(q, 1);
		}
		sqlite3_reset(q);
		if (r == VG_ERR_NOTFOUND)
			return not_found(err, errlen, "device", id);
		if (r != 0)
			return r;
		if (online) {
			pthread_mutex_lock(&st->seen_mu);
			if ((e = seen_get(st, id)) == NULL) {
				pthread_mutex_unlock(&st->seen_mu);
				vg_errf(err, errlen, "out of memory");
				return VG_ERR_NOMEM;
			}
			/* Unless devices_mark_offline() got there since we
			 * read the row. */
			if (!e->known) {
				e->known = 1;
				e->online = 1;
			}
			if (stored_seen > e->last_seen)
				e->last_seen = stored_seen;
			if (e->online) {
				if (now > e->last_seen) {
					e->last_seen = now;
					e->dirty = 1;
				}
				pthread_mutex_unlock(&st->seen_mu);
				return 0;
			}
			pthread_mutex_unlock(&st->seen_mu);
		}
	}
	/* Offline: back online now, with its event, durably. */
	if ((r = device_set_online(c, id, now, err, errlen)) != 0) {
		seen_forget(st, id);
		return r;
	}
	pthread_mutex_lock(&st->seen_mu);
	if ((e = seen_get(st, id)) != NULL) {
		e->known = 1;
		e->online = 1;
		if (now > e->last_seen)
			e->last_seen = now;
	}
	pthread_mutex_unlock(&st->seen_mu);
	return 0;
}

struct seen_write {
	int64_t id, last_seen;
	int64_t period;                 /* devices_mark_offline() only */
};

static int
sq_flush(struct hub_store *s, char *err, size_t errlen)
{
	struct sq_store *st = SQ(s);
	struct seen_write *w = NULL;
	struct sq_conn *c;
	sqlite3_stmt *q;
	size_t i, n = 0;
	struct seen *e;
	int r, in_tx = 0;

	if ((r = conn_get(s, &c, err, errlen)) != 0)
		return r;
	pthread_mutex_lock(&st->seen_mu);
	for (i = 0; i < st->seen_cap; i++)
		if (st->seen[i].id != 0 && st->seen[i].dirty)
			n++;
	if (n > 0 && (w = calloc(n, sizeof(*w))) == NULL) {
		pthread_mutex_unlock(&st->seen_mu);
		vg_errf(err, errlen, "out of memory");
		return VG_ERR_NOMEM;
	}
	for (i = 0, n = 0; i < st->seen_cap; i++) {
		e = &st->seen[i];
		if (e->id != 0 && e->dirty) {
			w[n].id = e->id;
			w[n].last_seen = e->last_seen;
			e->dirty = 0;
			n++;
		}
	}
	pthread_mutex_unlock(&st->seen_mu);
	if (n == 0)
		return 0;

	if ((r = tx_begin(c, "write last_seen", err, errlen)) != 0)
		goto out;
	in_tx = 1;
	for (i = 0; i < n; i++) {
		if ((r = stmt_get(c, ST_DEVICE_LAST_SEEN, &q, err,
		    errlen)) != 0)
			goto out;
		b_int(c, q, 1, w[i].id);
		b_int(c, q, 2, w[i].last_seen);
		if ((r = run(c, q, "write last_seen", err, errlen)) != 0)
			goto out;
	}
	r = tx_commit(c, "write last_seen", err, errlen);
	in_tx = 0;
out:
	if (r != 0) {
		if (in_tx)
			tx_rollback(c);
		/* Written next time, unless a newer poll supersedes it. */
		pthread_mutex_lock(&st->seen_mu);
		for (i = 0; i < n; i++)
			if ((e = seen_find(st, w[i].id)) != NULL)
				e->dirty = 1;
		pthread_mutex_unlock(&st->seen_mu);
	}
	free(w);
	return r;
}

static int
sq_devices_mark_offline(struct hub_store *s, int64_t now, int64_t since,
    int default_period, int grace, int *count, char *err, size_t errlen)
{
	struct sq_store *st = SQ(s);
	struct seen_write *w = NULL, *nw;
	char msg[160], when[VG_TIME_BUFLEN];
	size_t i, n = 0, cap = 0, done = 0;
	int64_t last;
	struct sq_conn *c;
	sqlite3_stmt *q = NULL;
	struct seen *e;
	int rc, r, skip, marked = 0;

	if (count != NULL)
		*count = 0;
	/* Polls buffered in memory count: write them first. */
	if ((r = sq_flush(s, err, errlen)) != 0)
		return r;
	if ((r = conn_get(s, &c, err, errlen)) != 0 ||
	    (r = tx_begin(c, "mark devices offline", err, errlen)) != 0)
		return r;
	if ((r = stmt_get(c, ST_DEVICE_STALE, &q, err, errlen)) != 0)
		goto out;
	b_int(c, q, 1, now);
	b_int(c, q, 2, default_period);
	b_int(c, q, 3, grace);
	b_int(c, q, 4, since);
	while ((rc = step(c, q)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nw = reallocarray(w, cap, sizeof(*w))) == NULL) {
				r = VG_ERR_NOMEM;
				goto out;
			}
			w = nw;
		}
		w[n].id = sqlite3_column_int64(q, 0);
		w[n].last_seen = sqlite3_column_int64(q, 1);
		w[n].period = sqlite3_column_int64(q, 2);
		n++;
	}
	stmt_done(q);
	q = NULL;
	if (rc != SQLITE_DONE) {
		r = sq_fail(c, rc, "mark devices offline", err, errlen);
		goto out;
	}
	for (i = 0; i < n; i++) {
		/* A poll that arrived since the flush keeps it online;
		 * otherwise the cache learns first, so a poll from now on
		 * takes the path that writes the ONLINE event. */
		pthread_mutex_lock(&st->seen_mu);
		if ((e = seen_get(st, w[i].id)) == NULL) {
			pthread_mutex_unlock(&st->seen_mu);
			r = VG_ERR_NOMEM;
			goto out;
		}
		last = e->last_seen > since ? e->last_seen : since;
		skip = last + w[i].period + grace >= now;
		if (!skip) {
			e->known = 1;
			e->online = 0;
		}
		pthread_mutex_unlock(&st->seen_mu);
		done = i + 1;
		if (skip)
			continue;
		if ((r = stmt_get(c, ST_DEVICE_OFFLINE, &q, err, errlen)) != 0)
			goto out;
		b_int(c, q, 1, w[i].id);
		r = run(c, q, "mark devices offline", err, errlen);
		q = NULL;
		if (r != 0)
			goto out;
		vg_time_format(w[i].last_seen * 1000000000, when);
		snprintf(msg, sizeof(msg), "no poll since %s (poll period "
		    "%" PRId64 " s, grace %d s)", when, w[i].period, grace);
		if ((r = hub_event(c, w[i].id, HS_EV_OFFLINE, msg, now, err,
		    errlen)) != 0)
			goto out;
		marked++;
	}
	r = tx_commit(c, "mark devices offline", err, errlen);
out:
	stmt_done(q);
	if (r != 0) {
		tx_rollback(c);
		/* The cache may now disagree with the database. */
		for (i = 0; i < done; i++)
			seen_forget(st, w[i].id);
		if (r == VG_ERR_NOMEM)
			vg_errf(err, errlen, "out of memory");
	} else if (count != NULL)
		*count = marked;
	free(w);
	return r;
}

/* ---- groups and policies ---- */

static int
group_json(struct sq_conn *c, sqlite3_stmt *q, json_t *o)
{
	(void)c;
	if (jset(o, "id", j_int(q, 0)) != 0 ||
	    jset(o, "name", j_text(q, 1)) != 0 ||
	    jset(o, "devices", j_int(q, 2)) != 0 ||
	    jset(o, "policy_version", j_int(q, 3)) != 0)
		return VG_ERR_NOMEM;
	return 0;
}

static int
sq_group_create(struct hub_store *s, const char *name, int64_t *id,
    char *err, size_t errlen)
{
	struct sq_conn *c;
	sqlite3_stmt *q;
	int r;

	if (name == NULL) {
		vg_errf(err, errlen, "group_create: no name");
		return VG_ERR_INVAL;
	}
	if ((r = conn_stmt(s, ST_GROUP_INSERT, &c, &q, err, errlen)) != 0)
		return r;
	b_text(c, q, 1, name);
	b_int(c, q, 2, wall_now());
	if ((r = run_named(c, q, "group", name, "create group", err,
	    errlen)) != 0)
		return r;
	if (id != NULL)
		*id = sqlite3_last_insert_rowid(c->db);
	return 0;
}

static int
sq_group_get(struct hub_store *s, int64_t id, json_t **out, char *err,
    size_t errlen)
{
	return get_by_id(s, ST_GROUP_GET, id, group_json, "group", "get group",
	    out, err, errlen);
}

static int
sq_group_list(struct hub_store *s, json_t **out, char *err, size_t errlen)
{
	return list_all(s, ST_GROUP_LIST, group_json, "list groups", out, err,
	    errlen);
}

static int
sq_group_rename(struct hub_store *s, int64_t id, const char *name,
    char *err, size_t errlen)
{
	struct sq_conn *c;
	sqlite3_stmt *q;
	int r;

	if (name == NULL) {
		vg_errf(err, errlen, "group_rename: no name");
		return VG_ERR_INVAL;
	}
	if ((r = conn_stmt(s, ST_GROUP_RENAME, &c, &q, err, errlen)) != 0)
		return r;
	b_int(c, q, 1, id);
	b_text(c, q, 2, name);
	if ((r = run_named(c, q, "group", name, "rename group", err,
	    errlen)) != 0)
		return r;
	if (sqlite3_changes(c->db) == 0)
		return not_found(err, errlen, "group", id);
	return 0;
}

static int
sq_group_delete(struct hub_store *s, int64_t id, char *err, size_t errlen)
{
	return delete_by_id(s, ST_GROUP_DELETE, id, "group", "delete group",
	    err, errlen);
}

static int
sq_group_member(struct hub_store *s, int64_t group_id, int64_t device_id,
    int add, char *err, size_t errlen)
{
	struct sq_conn *c;
	sqlite3_stmt *q;
	int r;

	if ((r = conn_get(s, &c, err, errlen)) != 0 ||
	    (r = tx_begin(c, "group membership", err, errlen)) != 0)
		return r;
	if ((r = row_exists(c, ST_GROUP_EXISTS, group_id, "group",
	    "group membership", err, errlen)) != 0 ||
	    (r = row_exists(c, ST_DEVICE_EXISTS, device_id, "device",
	    "group membership", err, errlen)) != 0)
		goto out;
	if ((r = stmt_get(c, add ? ST_MEMBER_ADD : ST_MEMBER_DELETE, &q, err,
	    errlen)) != 0)
		goto out;
	b_int(c, q, 1, group_id);
	b_int(c, q, 2, device_id);
	if ((r = run(c, q, "group membership", err, errlen)) != 0)
		goto out;
	r = tx_commit(c, "group membership", err, errlen);
out:
	if (r != 0)
		tx_rollback(c);
	return r;
}

static int
sq_policy_get(struct hub_store *s, int64_t group_id, json_t **out,
    int64_t *version, char *err, size_t errlen)
{
	struct sq_conn *c;
	sqlite3_stmt *q = NULL;
	json_t *doc = NULL;
	int r;

	*out = NULL;
	*version = 0;
	if ((r = conn_get(s, &c, err, errlen)) != 0 ||
	    (r = row_exists(c, ST_GROUP_EXISTS, group_id, "group",
	    "get policy", err, errlen)) != 0 ||
	    (r = stmt_get(c, ST_POLICY_GET, &q, err, errlen)) != 0)
		return r;
	b_int(c, q, 1, group_id);
	if ((r = step_one(c, q, "get policy", err, errlen)) ==
	    VG_ERR_NOTFOUND) {
		r = (*out = json_object()) != NULL ? 0 : VG_ERR_NOMEM;
		goto out;
	}
	if (r != 0)
		goto out;
	doc = json_loads((const char *)sqlite3_column_text(q, 0), 0, NULL);
	if (!json_is_object(doc)) {
		vg_errf(err, errlen, "policy of group %" PRId64 " is damaged",
		    group_id);
		r = VG_ERR_CORRUPT;
		goto out;
	}
	*version = sqlite3_column_int64(q, 1);
	*out = doc;
	doc = NULL;
	r = 0;
out:
	stmt_done(q);
	json_decref(doc);
	return r;
}

static int
sq_policy_set(struct hub_store *s, int64_t group_id, const json_t *policy,
    int64_t *version, char *err, size_t errlen)
{
	struct sq_conn *c = NULL;
	sqlite3_stmt *q = NULL;
	char *doc = NULL;
	int rc, r;

	if (!json_is_object(policy)) {
		vg_errf(err, errlen, "a policy must be a JSON object");
		return VG_ERR_INVAL;
	}
	if ((doc = json_dumps(policy, JSON_COMPACT | JSON_SORT_KEYS)) ==
	    NULL) {
		vg_errf(err, errlen, "out of memory");
		return VG_ERR_NOMEM;
	}
	if ((r = conn_get(s, &c, err, errlen)) != 0)
		goto out;
	if ((r = tx_begin(c, "set policy", err, errlen)) != 0)
		goto out;
	if ((r = row_exists(c, ST_GROUP_EXISTS, group_id, "group",
	    "set policy", err, errlen)) != 0)
		goto out;
	if ((r = stmt_get(c, ST_POLICY_SET, &q, err, errlen)) != 0)
		goto out;
	b_int(c, q, 1, group_id);
	b_text(c, q, 2, doc);
	if ((rc = step(c, q)) != SQLITE_ROW) {
		r = sq_fail(c, rc, "set policy", err, errlen);
		goto out;
	}
	if (version != NULL)
		*version = sqlite3_column_int64(q, 0);
	stmt_done(q);
	q = NULL;
	r = tx_commit(c, "set policy", err, errlen);
out:
	stmt_done(q);
	if (r != 0 && c != NULL)
		tx_rollback(c);
	free(doc);
	return r;
}

/* An entry of DEVICE_POLICIES: a group's policy. */
static int
device_policy_json(struct sq_conn *c, sqlite3_stmt *q, json_t *o)
{
	(void)c;
	if (jset(o, "group_id", j_int(q, 0)) != 0 ||
	    jset(o, "group", j_text(q, 1)) != 0 ||
	    jset(o, "version", j_int(q, 2)) != 0 ||
	    jset(o, "policy", j_doc(q, 3, json_object())) != 0)
		return VG_ERR_NOMEM;
	return 0;
}

/* The array of the rows statement sid gives for a device (its one
 * parameter); VG_ERR_NOTFOUND when there is no such device. */
static int
device_rows(struct hub_store *s, int64_t device_id, enum stmt_id sid,
    row_json_fn fn, const char *op, json_t **out, char *err, size_t errlen)
{
	struct sq_conn *c;
	sqlite3_stmt *q;
	int r;

	*out = NULL;
	if ((r = conn_get(s, &c, err, errlen)) != 0 ||
	    (r = row_exists(c, ST_DEVICE_EXISTS, device_id, "device", op, err,
	    errlen)) != 0 ||
	    (r = stmt_get(c, sid, &q, err, errlen)) != 0)
		return r;
	b_int(c, q, 1, device_id);
	return rows_json(c, q, fn, op, out, err, errlen);
}

static int
sq_device_policies(struct hub_store *s, int64_t device_id, json_t **out,
    char *err, size_t errlen)
{
	return device_rows(s, device_id, ST_DEVICE_POLICIES,
	    device_policy_json, "device policies", out, err, errlen);
}

/* ---- events: the packed attributes ---- */

static int
str_same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int
props_same(const struct vg_item *a, const struct vg_item *b)
{
	size_t i;

	if (a->nprops != b->nprops)
		return 0;
	for (i = 0; i < a->nprops; i++)
		if (strcmp(a->props[i].name, b->props[i].name) != 0 ||
		    strcmp(a->props[i].value, b->props[i].value) != 0)
			return 0;
	return 1;
}

/* The attributes both record with exactly the same value: the new side
 * of a change is stored without them and takes them from the old side
 * when read. */
static uint32_t
attrs_same(const struct vg_item *a, const struct vg_item *b)
{
	uint32_t both = a->have & b->have & VG_A_ALL, same = 0;

#define SAME(bit, cond) if ((both & (bit)) && (cond)) same |= (bit)
	SAME(VG_A_TYPE, a->ftype == b->ftype);
	SAME(VG_A_SIZE, a->size == b->size);
	SAME(VG_A_MODE, a->mode == b->mode);
	SAME(VG_A_UID, a->uid == b->uid);
	SAME(VG_A_GID, a->gid == b->gid);
	SAME(VG_A_USER, str_same(a->user, b->user));
	SAME(VG_A_GROUP, str_same(a->group, b->group));
	SAME(VG_A_MTIME, a->mtime_ns == b->mtime_ns);
	SAME(VG_A_CTIME, a->ctime_ns == b->ctime_ns);
	SAME(VG_A_INODE, a->inode == b->inode);
	SAME(VG_A_DEV, a->dev == b->dev);
	SAME(VG_A_NLINK, a->nlink == b->nlink);
	SAME(VG_A_TARGET, str_same(a->target, b->target));
	SAME(VG_A_XATTRS, str_same(a->xattrs, b->xattrs));
	SAME(VG_A_ACL, str_same(a->acl, b->acl));
	SAME(VG_A_SELINUX, str_same(a->selinux, b->selinux));
	SAME(VG_A_HASH, a->hash_alg == b->hash_alg &&
	    a->hash_state == b->hash_state && (a->hash_state != VG_HS_OK ||
	    memcmp(a->hash, b->hash, vg_hash_len(a->hash_alg)) == 0));
	SAME(VG_A_PROPS, props_same(a, b));
#undef SAME
	return same;
}

/* Copies the attributes in bits from src into dst. */
static int
attrs_copy(struct vg_item *dst, const struct vg_item *src, uint32_t bits)
{
#define COPY(bit, field) if (bits & (bit)) dst->field = src->field
	COPY(VG_A_TYPE, ftype);
	COPY(VG_A_SIZE, size);
	COPY(VG_A_MODE, mode);
	COPY(VG_A_UID, uid);
	COPY(VG_A_GID, gid);
	COPY(VG_A_MTIME, mtime_ns);
	COPY(VG_A_CTIME, ctime_ns);
	COPY(VG_A_INODE, inode);
	COPY(VG_A_DEV, dev);
	COPY(VG_A_NLINK, nlink);
#undef COPY
#define COPY_STR(bit, field) \
	if ((bits & (bit)) && vg_item_set_str(&dst->field, src->field) != 0) \
		return VG_ERR_NOMEM
	COPY_STR(VG_A_USER, user);
	COPY_STR(VG_A_GROUP, group);
	COPY_STR(VG_A_TARGET, target);
	COPY_STR(VG_A_XATTRS, xattrs);
	COPY_STR(VG_A_ACL, acl);
	COPY_STR(VG_A_SELINUX, selinux);
#undef COPY_STR
	if (bits & VG_A_HASH) {
		dst->hash_alg = src->hash_alg;
		dst->hash_state = src->hash_state;
		memcpy(dst->hash, src->hash, sizeof(dst->hash));
	}
	if ((bits & VG_A_PROPS) && vg_item_copy_props(dst, src) != 0)
		return VG_ERR_NOMEM;
	dst->have |= bits;
	return 0;
}

/* The rollup counts of a batch: events stored per device and type (a
 * batch has one time of receipt). */
struct batch_count {
	int64_t device;
	int type;
	int64_t n;
};

/* Counts one stored event in counts[0..*ncounts) (room for a batch). */
static void
batch_count_add(struct batch_count *counts, size_t *ncounts, int64_t device,
    int type)
{
	size_t i;

	/* Newest first: a batch is mostly one device and one type. */
	for (i = *ncounts; i > 0; i--) {
		if (counts[i - 1].device == device &&
		    counts[i - 1].type == type) {
			counts[i - 1].n++;
			return;
		}
	}
	counts[*ncounts].device = device;
	counts[*ncounts].type = type;
	counts[*ncounts].n = 1;
	(*ncounts)++;
}

/* An event of a batch, ready to bind. */
struct packed_event {
	unsigned char *old, *new;
	size_t oldlen, newlen;
	uint32_t same;                /* attributes left out of new */
	int64_t same_col;             /* how the same column says it */
	const struct vg_item *head;   /* kind and path */
};

static int
pack_event(const struct hs_event_in *ev, size_t idx, struct packed_event *p,
    char *err, size_t errlen)
{
	const struct vg_change *ch = ev->change;
	struct vg_item delta;
	int r;

	if (ch == NULL || (ch->old == NULL && ch->new == NULL)) {
		vg_errf(err, errlen, "events[%zu]: a change event without a "
		    "change", idx);
		return VG_ERR_INVAL;
	}
	p->head = ch->new ? ch->new : ch->old;
	if (p->head->path_len > VG_ITEM_PATH_MAX ||
	    vg_kind_name(p->head->kind) == NULL) {
		vg_errf(err, errlen, "events[%zu]: bad kind or path", idx);
		return VG_ERR_INVAL;
	}
	if (ch->old != NULL &&
	    (r = vg_pack_attrs(ch->old, &p->old, &p->oldlen)) != 0)
		goto fail;
	if (ch->new != NULL) {
		if (ch->old != NULL)
			p->same = attrs_same(ch->old, ch->new);
		/* A shallow copy that records fewer attributes: packing
		 * only reads the fields. */
		memcpy(&delta, ch->new, sizeof(delta));
		delta.have &= ~p->same;
		if ((r = vg_pack_attrs(&delta, &p->new, &p->newlen)) != 0)
			goto fail;
	}
	/* Usually both sides record the same attributes: then 0, which
	 * SQLite stores in no bytes, stands for "the rest of old's". */
	if (p->same == 0)
		p->same_col = -1;
	else if ((ch->old->have & VG_A_ALL) == (ch->new->have & VG_A_ALL))
		p->same_col = 0;
	else
		p->same_col = p->same;
	return 0;
fail:
	vg_errf(err, errlen, "events[%zu]: cannot store the attributes: %s",
	    idx, vg_strerror(r));
	return r;
}

/* The old and new items of a stored change. same_col is the same column:
 * -1 for NULL (new stored whole), 0 (new takes every attribute it lacks
 * from old) or the bits to take from old. */
static int
unpack_event(int kind, const void *path, size_t plen, const void *oldp,
    size_t oldlen, const void *newp, size_t newlen, int64_t same_col,
    int64_t id, struct vg_item **old, struct vg_item **new, char *err,
    size_t errlen)
{
	uint32_t same;
	char sub[256];
	int r;

	*old = *new = NULL;
	if (oldp != NULL && (r = vg_unpack_attrs(oldp, oldlen,
	    (enum vg_item_kind)kind, path, plen, old, sub,
	    sizeof(sub))) != 0) {
		vg_errf(err, errlen, "event %" PRId64 ": old attributes: %s",
		    id, sub);
		return r;
	}
	if (newp != NULL && (r = vg_unpack_attrs(newp, newlen,
	    (enum vg_item_kind)kind, path, plen, new, sub,
	    sizeof(sub))) != 0) {
		vg_errf(err, errlen, "event %" PRId64 ": new attributes: %s",
		    id, sub);
		goto fail;
	}
	if (*new != NULL && same_col >= 0) {
		if (*old == NULL || same_col > VG_A_ALL) {
			vg_errf(err, errlen, "event %" PRId64 ": new attributes "
			    "refer to a missing old side", id);
			r = VG_ERR_CORRUPT;
			goto fail;
		}
		same = same_col == 0 ? (*old)->have & ~(*new)->have :
		    (uint32_t)same_col & (*old)->have;
		if ((r = attrs_copy(*new, *old, same)) != 0)
			goto fail;
	}
	return 0;
fail:
	vg_item_free(*old);
	vg_item_free(*new);
	*old = *new = NULL;
	return r;
}

static int64_t
col_same(sqlite3_stmt *q, int i)
{
	return sqlite3_column_type(q, i) == SQLITE_NULL ? -1 :
	    sqlite3_column_int64(q, i);
}

/* ---- events ---- */

static int
check_event(const struct hs_event_in *ev, size_t i, char *err,
    size_t errlen)
{
	if (hs_event_type_name(ev->type) == NULL) {
		vg_errf(err, errlen, "events[%zu]: unknown type %d", i,
		    ev->type);
		return VG_ERR_INVAL;
	}
	if (ev->origin != ORIGIN_SCAN && ev->origin != ORIGIN_REALTIME &&
	    ev->origin != ORIGIN_HUB) {
		vg_errf(err, errlen, "events[%zu]: unknown origin %d", i,
		    ev->origin);
		return VG_ERR_INVAL;
	}
	if (ev->seq > INT64_MAX) {
		vg_errf(err, errlen, "events[%zu]: id out of range", i);
		return VG_ERR_INVAL;
	}
	if (ev->type == HS_EV_AGENT && ev->message == NULL) {
		vg_errf(err, errlen, "events[%zu]: an agent event needs a "
		    "message", i);
		return VG_ERR_INVAL;
	}
	return 0;
}

static void
packed_free(struct packed_event *p, size_t n)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(p[i].old);
		free(p[i].new);
	}
	free(p);
}

/*
 * Checks and packs a batch, before the write lock is taken: *pp (free
 * with packed_free(*pp, n)) and *cp (room for the rollup counts of the
 * batch; free()) are the caller's.
 */
static int
events_prepare(const struct hs_event_in *ev, size_t n,
    struct packed_event **pp, struct batch_count **cp, char *err,
    size_t errlen)
{
	struct packed_event *p;
	size_t i;
	int r;

	*pp = NULL;
	*cp = NULL;
	if ((p = calloc(n, sizeof(*p))) == NULL ||
	    (*cp = calloc(n, sizeof(**cp))) == NULL) {
		free(p);
		vg_errf(err, errlen, "out of memory");
		return VG_ERR_NOMEM;
	}
	for (i = 0; i < n; i++) {
		if ((r = check_event(&ev[i], i, err, errlen)) != 0 ||
		    (ev[i].type >= HS_EV_ADDED && ev[i].type <= HS_EV_CHANGED &&
		    (r = pack_event(&ev[i], i, &p[i], err, errlen)) != 0)) {
			packed_free(p, n);
			free(*cp);
			*cp = NULL;
			return r;
		}
	}
	*pp = p;
	return 0;
}

/*
 * Stores a batch events_prepare() made, in the caller's transaction, and
 * counts it in the rollup. stored[i] as events_insert() says; ids[i]
 * (when ids is not NULL) the id of an event stored now, else 0.
 */
static int
events_write(struct sq_conn *c, const struct hs_event_in *ev,
    const struct packed_event *p, struct batch_count *counts, size_t n,
    int64_t received, unsigned char *stored, int64_t *ids, char *err,
    size_t errlen)
{
	const struct vg_change *ch;
	sqlite3_stmt *q;
	size_t i, ncounts = 0;
	int rc, r;

	for (i = 0; i < n; i++) {
		if ((r = stmt_get(c, ST_EVENT_INSERT, &q, err, errlen)) != 0)
			return r;
		ch = p[i].head != NULL ? ev[i].change : NULL;
		b_int(c, q, 1, ev[i].device_id);
		/* seq 0: an event the hub made (agents number from 1), which
		 * takes no number of the device's own sequence. */
		if (ev[i].seq != 0)
			b_int(c, q, 2, (int64_t)ev[i].seq);
		b_int(c, q, 3, ev[i].time_ns);
		b_int(c, q, 4, received);
		b_int(c, q, 5, ev[i].type);
		b_int(c, q, 6, ev[i].origin);
		if (ch != NULL) {
			b_int(c, q, 7, p[i].head->kind);
			b_blob(c, q, 8, p[i].head->path, p[i].head->path_len);
			if (ch->type == VG_CHANGE_CHANGED)
				b_int(c, q, 9, ch->changed & VG_A_ALL);
			b_blob(c, q, 10, p[i].old, p[i].oldlen);
			b_blob(c, q, 11, p[i].new, p[i].newlen);
			if (p[i].same_col >= 0)
				b_int(c, q, 12, p[i].same_col);
			if (ch->diff != NULL) {
				b_text(c, q, 14, ch->diff);
				b_int(c, q, 15, ch->diff_truncated != 0);
			}
		} else if (ev[i].path != NULL)
			b_blob(c, q, 8, ev[i].path, strlen(ev[i].path));
		b_text(c, q, 13, ev[i].message);
		rc = step(c, q);
		sqlite3_reset(q);
		if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
			vg_errf(err, errlen, "events[%zu]: no device %" PRId64,
			    i, ev[i].device_id);
			return VG_ERR_NOTFOUND;
		}
		if (rc != SQLITE_DONE)
			return sq_fail(c, rc, "store events", err, errlen);
		/* No row: the device already sent this seq. */
		stored[i] = sqlite3_changes(c->db) > 0 ? 1 : 2;
		if (ids != NULL)
			ids[i] = stored[i] == 1 ?
			    sqlite3_last_insert_rowid(c->db) : 0;
		if (stored[i] == 1)
			batch_count_add(counts, &ncounts, ev[i].device_id,
			    ev[i].type);
	}
	for (i = 0; i < ncounts; i++)
		if ((r = rollup_add(c, counts[i].device, counts[i].type,
		    received, counts[i].n, err, errlen)) != 0)
			return r;
	return 0;
}

static int
sq_events_insert(struct hub_store *s, const struct hs_event_in *ev,
    size_t n, int64_t received, unsigned char *stored, char *err,
    size_t errlen)
{
	struct packed_event *p = NULL;
	struct batch_count *counts = NULL;
	struct sq_conn *c = NULL;
	int r, in_tx = 0;

	if (n == 0)
		return 0;
	memset(stored, 0, n);
	/* Everything that can fail without the database first, so the
	 * write lock is held only for the inserts. */
	if ((r = events_prepare(ev, n, &p, &counts, err, errlen)) != 0)
		return r;
	if ((r = conn_get(s, &c, err, errlen)) != 0 ||
	    (r = tx_begin(c, "store events", err, errlen)) != 0)
		goto out;
	in_tx = 1;
	if ((r = events_write(c, ev, p, counts, n, received, stored, NULL,
	    err, errlen)) != 0)
		goto out;
	r = tx_commit(c, "store events", err, errlen);
	in_tx = 0;
out:
	if (r != 0) {
		if (in_tx)
			tx_rollback(c);
		memset(stored, 0, n);
	}
	packed_free(p, n);
	free(counts);
	return r;
}

static const char *
origin_name(int origin)
{
	switch (origin) {
	case ORIGIN_SCAN: return "scan";
	case ORIGIN_REALTIME: return "realtime";
	case ORIGIN_HUB: return "hub";
	}
	return NULL;
}

static const char *
state_name(int state)
{
	switch (state) {
	case STATE_ACKED: return "acknowledged";
	case STATE_ACCEPTED: return "accepted";
	}
	return "new";
}

/* "path" and, for bytes that are not UTF-8, "path_b64". */
static int
set_path(json_t *o, const void *path, size_t len)
{
	char *b64;
	int r;

	if (path == NULL)
		return jset(o, "path", json_null());
	if (jset(o, "path", vg_json_bytes(path, len)) != 0)
		return VG_ERR_NOMEM;
	if (vg_utf8_valid(path, len))
		return 0;
	if ((b64 = vg_base64_encode(path, len)) == NULL)
		return VG_ERR_NOMEM;
	r = jset(o, "path_b64", json_string(b64));
	free(b64);
	return r;
}

/* The summary of an EVENT_COLS row. */
static int
event_summary(struct sq_conn *c, sqlite3_stmt *q, json_t *o)
{
	char when[VG_TIME_BUFLEN];
	const char *type = hs_event_type_name(sqlite3_column_int(q, 6));
	const char *origin = origin_name(sqlite3_column_int(q, 7));
	const char *kind = NULL;
	uint32_t changed, bit;
	json_t *names;

	(void)c;
	if (sqlite3_column_type(q, 8) != SQLITE_NULL)
		kind = vg_kind_name((enum vg_item_kind)sqlite3_column_int(q,
		    8));
	changed = (uint32_t)sqlite3_column_int64(q, 10);
	vg_time_format(sqlite3_column_int64(q, 4), when);
	/* names: borrowed from o, which holds it from here on. */
	if (jset(o, "id", j_int(q, 0)) != 0 ||
	    jset(o, "device_id", j_int(q, 1)) != 0 ||
	    jset(o, "device", j_text(q, 2)) != 0 ||
	    jset(o, "seq", j_int(q, 3)) != 0 ||
	    jset(o, "time", json_string(when)) != 0 ||
	    jset(o, "received", j_int(q, 5)) != 0 ||
	    jset(o, "type", type ? json_string(type) : json_null()) != 0 ||
	    jset(o, "origin", origin ? json_string(origin) :
	    json_null()) != 0 ||
	    jset(o, "kind", kind ? json_string(kind) : json_null()) != 0 ||
	    set_path(o, sqlite3_column_blob(q, 9),
	    (size_t)sqlite3_column_bytes(q, 9)) != 0 ||
	    (names = json_array()) == NULL ||
	    jset(o, "changed", names) != 0 ||
	    jset(o, "message", j_text(q, 11)) != 0 ||
	    jset(o, "state", json_string(state_name(sqlite3_column_int(q,
	    12)))) != 0)
		return VG_ERR_NOMEM;
	for (bit = 1; bit & VG_A_ALL; bit <<= 1)
		if ((changed & bit) && json_array_append_new(names,
		    json_string(vg_attr_name(bit))) != 0)
			return VG_ERR_NOMEM;
	return 0;
}

/* The statement of one combination of filters, for one window of ids
 * (?8..?9, inclusive). */
static int
query_stmt(struct sq_conn *c, unsigned shape, sqlite3_stmt **out, char *err,
    size_t errlen)
{
	char sql[1024];
	int n, r;

	if (c->query[shape] == NULL) {
		n = snprintf(sql, sizeof(sql), EVENT_COLS EVENT_FROM
		    " WHERE e.id BETWEEN ?8 AND ?9%s%s%s%s%s%s%s%s"
		    " ORDER BY e.id DESC LIMIT ?10",
		    shape & QF_DEVICE ? " AND e.device = ?1" : "",
		    /* "+": walk the window by id and test each event
		     * against the group's devices. */
		    shape & QF_GROUP ? " AND +e.device IN (SELECT gd.device"
		    " FROM grp_device gd WHERE gd.grp = ?2)" : "",
		    /* "+": the window bounds the ids already; the index on
		     * received would not give them in order. */
		    shape & QF_SINCE ? " AND +e.received >= ?3" : "",
		    shape & QF_UNTIL ? " AND +e.received < ?4" : "",
		    shape & QF_TYPE ? " AND e.type = ?5" : "",
		    /* Says what the partial index event_notice needs. */
		    shape & QF_NOTICE ? " AND e.type >= 10" : "",
		    /* Bytes, not a pattern: no escaping of % and _. */
		    shape & QF_TEXT ? " AND vg_path_has(e.path, ?6)" : "",
		    /* "state = ?" lets event_state serve the rarer
		     * states; new events are NULL (or 0). */
		    !(shape & QF_STATE) ? "" : shape & QF_REVIEWED ?
		    " AND e.state = ?7" : " AND coalesce(e.state, 0) = ?7");
		if (n < 0 || (size_t)n >= sizeof(sql)) {
			vg_errf(err, errlen, "event query too long");
			return VG_ERR_INTERNAL;
		}
		if ((r = prepare(c, sql, &c->query[shape], err, errlen)) != 0)
			return r;
	}
	c->bind_rc = SQLITE_OK;
	sqlite3_reset(c->query[shape]);
	sqlite3_clear_bindings(c->query[shape]);
	*out = c->query[shape];
	return 0;
}

/* The newest id below hi that the search must look at next (of the
 * device, when the filter names one): *top, or 0 when there is none. */
static int
newest_below(struct sq_conn *c, const struct hs_event_filter *f, int64_t hi,
    int64_t *top, char *err, size_t errlen)
{
	sqlite3_stmt *q;
	int have, r;

	*top = 0;
	if (f->device_id == 0)
		r = lookup_id(c, ST_EVENT_NEWEST, hi, "query events", top,
		    &have, err, errlen);
	else if ((r = stmt_get(c, ST_EVENT_NEWEST_DEVICE, &q, err,
	    errlen)) == 0) {
		b_int(c, q, 1, f->device_id);
		b_int(c, q, 2, hi);
		r = lookup_int(c, q, "query events", top, &have, err, errlen);
	}
	if (r == 0 && !have)
		*top = 0;
	return r;
}

/* The state column's value for a filter state (NULL reads as 0). */
static int
state_value(int state)
{
	switch (state) {
	case HS_STATE_ACKED: return STATE_ACKED;
	case HS_STATE_ACCEPTED: return STATE_ACCEPTED;
	}
	return STATE_NEW;
}

/* One window of the search: the events of ids lo..top matching f, newest
 * first, at most want of them, appended to events; *found counts them,
 * *last_id and *last_received are those of the last one. */
static int
search_window(struct sq_conn *c, const struct hs_event_filter *f,
    unsigned shape, const unsigned char *needle, size_t needle_len,
    int64_t lo, int64_t top, int want, json_t *events, int *found,
    int64_t *last_id, int64_t *last_received, char *err, size_t errlen)
{
	sqlite3_stmt *q;
	json_t *o;
	int rc, r;

	if ((r = query_stmt(c, shape, &q, err, errlen)) != 0)
		return r;
	if (shape & QF_DEVICE)
		b_int(c, q, 1, f->device_id);
	if (shape & QF_GROUP)
		b_int(c, q, 2, f->group_id);
	if (shape & QF_SINCE)
		b_int(c, q, 3, f->since);
	if (shape & QF_UNTIL)
		b_int(c, q, 4, f->until);
	if (shape & QF_TYPE)
		b_int(c, q, 5, f->type);
	if (shape & QF_TEXT)
		b_blob(c, q, 6, needle, needle_len);
	if (shape & QF_STATE)
		b_int(c, q, 7, state_value(f->state));
	b_int(c, q, 8, lo);
	b_int(c, q, 9, top);
	b_int(c, q, 10, want);
	while ((rc = step(c, q)) == SQLITE_ROW) {
		if ((r = row_object(c, q, event_summary, &o)) != 0)
			goto out;
		if (json_array_append_new(events, o) != 0) {
			r = VG_ERR_NOMEM;
			goto out;
		}
		*last_id = sqlite3_column_int64(q, 0);
		*last_received = sqlite3_column_int64(q, 5);
		(*found)++;
	}
	r = rc == SQLITE_DONE ? 0 : sq_fail(c, rc, "query events", err,
	    errlen);
out:
	stmt_done(q);
	return r;
}

static unsigned
filter_shape(const struct hs_event_filter *f)
{
	unsigned shape = 0;

	if (f->device_id != 0)
		shape |= QF_DEVICE;
	if (f->group_id != 0)
		shape |= QF_GROUP;
	if (f->since != 0)
		shape |= QF_SINCE;
	if (f->until != 0)
		shape |= QF_UNTIL;
	if (f->type != 0)
		shape |= QF_TYPE | (f->type >= 10 ? QF_NOTICE : 0);
	if (f->text != NULL && f->text[0] != '\0')
		shape |= QF_TEXT;
	if (f->state != 0)
		shape |= QF_STATE | (f->state != HS_STATE_NEW ? QF_REVIEWED :
		    0);
	return shape;
}

static int
sq_event_query(struct hub_store *s, const struct hs_event_filter *f,
    json_t **out, char *err, size_t errlen)
{
	struct sq_conn *c;
	unsigned char *needle = NULL;
	json_t *events = NULL, *page = NULL;
	unsigned shape = filter_shape(f);
	int64_t hi, floor = 1, top, lo, v, last_id = 0, last_received = 0;
	int64_t next = 0, searched_to = 0;
	int limit = clamp_limit(f->limit), found = 0, partial = 0, have, r;
	size_t needle_len = 0, i;
	double start = mono_now();

	*out = NULL;
	if (f->state < 0 || f->state > HS_STATE_ACCEPTED) {
		vg_errf(err, errlen, "query events: unknown state %d", f->state);
		return VG_ERR_INVAL;
	}
	if ((r = conn_get(s, &c, err, errlen)) != 0)
		return r;
	if ((events = json_array()) == NULL) {
		r = VG_ERR_NOMEM;
		goto out;
	}
	if (shape & QF_TEXT) {
		needle_len = strlen(f->text);
		if ((needle = malloc(needle_len)) == NULL) {
			r = VG_ERR_NOMEM;
			goto out;
		}
		for (i = 0; i < needle_len; i++) {
			unsigned char ch = (unsigned char)f->text[i];

			needle[i] = ch >= 'A' && ch <= 'Z' ?
			    (unsigned char)(ch - 'A' + 'a') : ch;
		}
	}
	hi = f->before_id > 0 ? f->before_id : INT64_MAX;
	/* Ids at or below an event received SQ_DISORDER seconds before
	 * `since` were all received before `since`; ids at or above one
	 * received SQ_DISORDER seconds after `until`, all after it. */
	if ((shape & QF_SINCE) && (r = lookup_id(c, ST_EVENT_LAST_BEFORE,
	    f->since - SQ_DISORDER, "query events", &v, &have, err,
	    errlen)) != 0)
		goto out;
	if ((shape & QF_SINCE) && have)
		floor = v + 1;
	if ((shape & QF_UNTIL) && (r = lookup_id(c, ST_EVENT_FIRST_FROM,
	    f->until + SQ_DISORDER, "query events", &v, &have, err,
	    errlen)) != 0)
		goto out;
	if ((shape & QF_UNTIL) && have && v < hi)
		hi = v;
	top = 0;
	if (hi > floor && (r = newest_below(c, f, hi, &top, err,
	    errlen)) != 0)
		goto out;
	while (top >= floor) {
		lo = top >= floor + SQ_WINDOW ? top - SQ_WINDOW + 1 : floor;
		if ((r = search_window(c, f, shape, needle, needle_len, lo, top,
		    limit - found, events, &found, &last_id, &last_received,
		    err, errlen)) != 0)
			goto out;
		if (found >= limit) {
			next = last_id;
			searched_to = last_received;
			break;
		}
		top = 0;
		if (lo > floor && (r = newest_below(c, f, lo, &top, err,
		    errlen)) != 0)
			goto out;
		if (top < floor)
			break;
		if (f->budget_ms != HS_NO_BUDGET &&
		    (mono_now() - start) * 1000 >= f->budget_ms) {
			partial = 1;
			next = lo;
			if ((r = lookup_id(c, ST_EVENT_RECEIVED_FROM, lo,
			    "query events", &v, &have, err, errlen)) != 0)
				goto out;
			/* None when retention has just deleted them. */
			searched_to = have ? v : 0;
			break;
		}
	}
	page = json_pack("{s:O, s:o, s:b, s:o}", "events", events, "next",
	    next > 0 ? json_integer(next) : json_null(), "partial", partial,
	    "searched_to", next > 0 && searched_to > 0 ?
	    json_integer(searched_to) : json_null());
	if (page == NULL) {
		r = VG_ERR_NOMEM;
		goto out;
	}
	*out = page;
	r = 0;
out:
	if (r == VG_ERR_NOMEM)
		vg_errf(err, errlen, "out of memory");
	json_decref(events);
	free(needle);
	return r;
}

static int
sq_event_get(struct hub_store *s, int64_t id, json_t **out, char *err,
    size_t errlen)
{
	struct vg_item *old = NULL, *new = NULL;
	struct sq_conn *c;
	sqlite3_stmt *q;
	json_t *o = NULL;
	int r;

	*out = NULL;
	if ((r = conn_stmt(s, ST_EVENT_GET, &c, &q, err, errlen)) != 0)
		return r;
	b_int(c, q, 1, id);
	if ((r = step_one(c, q, "get event", err, errlen)) ==
	    VG_ERR_NOTFOUND)
		not_found(err, errlen, "event", id);
	if (r != 0 || (r = row_object(c, q, event_summary, &o)) != 0)
		goto out;
	if (sqlite3_column_type(q, 8) != SQLITE_NULL &&
	    (r = unpack_event(sqlite3_column_int(q, 8),
	    sqlite3_column_blob(q, 9), (size_t)sqlite3_column_bytes(q, 9),
	    sqlite3_column_blob(q, EVENT_NCOLS),
	    (size_t)sqlite3_column_bytes(q, EVENT_NCOLS),
	    sqlite3_column_blob(q, EVENT_NCOLS + 1),
	    (size_t)sqlite3_column_bytes(q, EVENT_NCOLS + 1),
	    col_same(q, EVENT_NCOLS + 2), id, &old,
	    &new, err, errlen)) != 0)
		goto out;
	if (jset(o, "old", old ? vg_attrs_to_json(old) : json_null()) != 0 ||
	    jset(o, "new", new ? vg_attrs_to_json(new) : json_null()) != 0 ||
	    jset(o, "diff", j_text(q, EVENT_NCOLS + 3)) != 0 ||
	    jset(o, "diff_truncated", j_bool(q, EVENT_NCOLS + 4)) != 0 ||
	    jset(o, "ack_by", j_text(q, EVENT_NCOLS + 5)) != 0 ||
	    jset(o, "ack_at", j_int(q, EVENT_NCOLS + 6)) != 0 ||
	    jset(o, "comment", j_text(q, EVENT_NCOLS + 7)) != 0 ||
	    jset(o, "accepted_by", j_text(q, EVENT_NCOLS + 8)) != 0 ||
	    jset(o, "accepted_at", j_int(q, EVENT_NCOLS + 9)) != 0) {
		r = VG_ERR_NOMEM;
		goto out;
	}
	*out = o;
	o = NULL;
	r = 0;
out:
	stmt_done(q);
	json_decref(o);
	vg_item_free(old);
	vg_item_free(new);
	if (r == VG_ERR_NOMEM)
		vg_errf(err, errlen, "out of memory");
	return r;
}

static int
sq_event_ack(struct hub_store *s, int64_t id, const char *user,
    const char *comment, int64_t now, char *err, size_t errlen)
{
	struct sq_conn *c;
	sqlite3_stmt *q;
	int r;

	if ((r = conn_stmt(s, ST_EVENT_ACK, &c, &q, err, errlen)) != 0)
		return r;
	b_int(c, q, 1, id);
	b_text(c, q, 2, user);
	b_int(c, q, 3, now);
	b_text(c, q, 4, comment ? comment : "");
	if ((r = run_changed(c, q, "acknowledge event", err, errlen)) ==
	    VG_ERR_NOTFOUND)
		return not_found(err, errlen, "event", id);
	return r;
}

static int
sq_event_accept(struct hub_store *s, int64_t id, const char *user,
    int64_t now, char *err, size_t errlen)
{
	struct vg_item *old = NULL, *new = NULL;
	unsigned char *attrs = NULL;
	struct sq_conn *c;
	sqlite3_stmt *q = NULL, *w;
	int64_t device;
	size_t alen = 0;
	int r, type, kind;

	if ((r = conn_get(s, &c, err, errlen)) != 0 ||
	    (r = tx_begin(c, "accept event", err, errlen)) != 0)
		return r;
	if ((r = stmt_get(c, ST_EVENT_FOR_ACCEPT, &q, err, errlen)) != 0)
		goto out;
	b_int(c, q, 1, id);
	if ((r = step_one(c, q, "accept event", err, errlen)) ==
	    VG_ERR_NOTFOUND)
		not_found(err, errlen, "event", id);
	if (r != 0)
		goto out;
	device = sqlite3_column_int64(q, 0);
	type = sqlite3_column_int(q, 1);
	kind = sqlite3_column_int(q, 2);
	if (type < HS_EV_ADDED || type > HS_EV_CHANGED ||
	    sqlite3_column_type(q, 3) == SQLITE_NULL) {
		vg_errf(err, errlen, "event %" PRId64 " is not a change", id);
		r = VG_ERR_INVAL;
		goto out;
	}
	if ((r = unpack_event(kind, sqlite3_column_blob(q, 3),
	    (size_t)sqlite3_column_bytes(q, 3), sqlite3_column_blob(q, 4),
	    (size_t)sqlite3_column_bytes(q, 4), sqlite3_column_blob(q, 5),
	    (size_t)sqlite3_column_bytes(q, 5),
	    col_same(q, 6), id, &old, &new, err,
	    errlen)) != 0)
		goto out;
	if (type != HS_EV_REMOVED && new == NULL) {
		vg_errf(err, errlen, "event %" PRId64 " has no new attributes",
		    id);
		r = VG_ERR_CORRUPT;
		goto out;
	}
	if (new != NULL && (r = vg_pack_attrs(new, &attrs, &alen)) != 0) {
		vg_errf(err, errlen, "event %" PRId64 ": %s", id,
		    vg_strerror(r));
		goto out;
	}
	/* The path column of q stays valid while q is not reset. */
	if ((r = stmt_get(c, type == HS_EV_REMOVED ? ST_BASELINE_DELETE :
	    ST_BASELINE_PUT, &w, err, errlen)) != 0)
		goto out;
	b_int(c, w, 1, device);
	b_int(c, w, 2, kind);
	b_blob(c, w, 3, sqlite3_column_blob(q, 3),
	    (size_t)sqlite3_column_bytes(q, 3));
	if (type != HS_EV_REMOVED) {
		b_blob(c, w, 4, attrs, alen);
		b_int(c, w, 5, id);
		b_int(c, w, 6, now);
	}
	if ((r = run(c, w, "accept event", err, errlen)) != 0)
		goto out;
	stmt_done(q);
	q = NULL;
	if ((r = stmt_get(c, ST_EVENT_ACCEPTED, &w, err, errlen)) != 0)
		goto out;
	b_int(c, w, 1, id);
	b_text(c, w, 2, user);
	b_int(c, w, 3, now);
	if ((r = run(c, w, "accept event", err, errlen)) != 0)
		goto out;
	r = tx_commit(c, "accept event", err, errlen);
out:
	stmt_done(q);
	if (r != 0)
		tx_rollback(c);
	vg_item_free(old);
	vg_item_free(new);
	free(attrs);
	return r;
}

static int
sq_events_purge(struct hub_store *s, int64_t cutoff, int limit,
    int *deleted, char *err, size_t errlen)
{
	struct sq_conn *c;
	sqlite3_stmt *q;
	int r;

	if (deleted != NULL)
		*deleted = 0;
	if (limit <= 0)
		return 0;
	if ((r = conn_stmt(s, ST_EVENT_PURGE, &c, &q, err, errlen)) != 0)
		return r;
	b_int(c, q, 1, cutoff);
	b_int(c, q, 2, limit);
	/* One statement: its own short transaction. */
	if ((r = run(c, q, "purge events", err, errlen)) != 0)
		return r;
	if (deleted != NULL)
		*deleted = sqlite3_changes(c->db);
	return 0;
}

/* ---- credentials of proxied devices ---- */

static int
credential_json(struct sq_conn *c, sqlite3_stmt *q, json_t *o)
{
	(void)c;
	if (jset(o, "id", j_int(q, 0)) != 0 ||
	    jset(o, "name", j_text(q, 1)) != 0 ||
	    jset(o, "username", j_text(q, 2)) != 0 ||
	    jset(o, "created", j_int(q, 3)) != 0 ||
	    jset(o, "updated", j_int(q, 4)) != 0 ||
	    jset(o, "devices", j_int(q, 5)) != 0)
		return VG_ERR_NOMEM;
	return 0;
}

static int
sq_credential_create(struct hub_store *s, const char *name,
    const char *username, const unsigned char *box, size_t boxlen,
    int64_t now, int64_t *id, char *err, size_t errlen)
{
	struct sq_conn *c;
	sqlite3_stmt *q;
	int r;

	if (name == NULL || name[0] == '\0' || box == NULL || boxlen == 0) {
		vg_errf(err, errlen, "credential_create: a name and a sealed "
		    "box are needed");
		return VG_ERR_INVAL;
	}
	if ((r = conn_stmt(s, ST_CRED_INSERT, &c, &q, err, errlen)) != 0)
		return r;
	b_text(c, q, 1, name);
	b_text(c, q, 2, username);
	b_blob(c, q, 3, box, boxlen);
	b_int(c, q, 4, now > 0 ? now : wall_now());
	if ((r = run_named(c, q, "credential", name, "create credential",
	    err, errlen)) != 0)
		return r;
	if (id != NULL)
		*id = sqlite3_last_insert_rowid(c->db);
	return 0;
}

static int
sq_credential_update(struct hub_store *s, int64_t id, const char *name,
    const char *username, const unsigned char *box, size_t boxlen,
    int64_t now, char *err, size_t errlen)
{
	struct sq_conn *c;
	sqlite3_stmt *q;
	int r;

	if (name != NULL && name[0] == '\0') {
		vg_errf(err, errlen, "credential_update: empty name");
		return VG_ERR_INVAL;
	}
	if ((r = conn_stmt(s, ST_CRED_UPDATE, &c, &q, err, errlen)) != 0)
		return r;
	b_int(c, q, 1, id);
	b_text(c, q, 2, name);
	b_text(c, q, 3, username);
	b_blob(c, q, 4, boxlen > 0 ? box : NULL, boxlen);
	b_int(c, q, 5, now > 0 ? now : wall_now());
	if ((r = run_named(c, q, "credential", name, "update credential",
	    err, errlen)) != 0)
		return r;
	return sqlite3_changes(c->db) > 0 ? 0 :
	    not_found(err, errlen, "credential", id);
}

static int
sq_credential_delete(struct hub_store *s, int64_t id, char *err,
    size_t errlen)
{
	struct sq_conn *c;
	sqlite3_stmt *q = NULL;
	int64_t used;
	int r;

	if ((r = conn_get(s, &c, err, errlen)) != 0 ||
	    (r = tx_begin(c, "delete credential", err, errlen)) != 0)
		return r;
	if ((r = stmt_get(c, ST_CRED_GET, &q, err, errlen)) != 0)
		goto out;
	b_int(c, q, 1, id);
	if ((r = step_one(c, q, "delete credential", err, errlen)) ==
	    VG_ERR_NOTFOUND)
		not_found(err, errlen, "credential", id);
	if (r != 0)
		goto out;
	if ((used = sqlite3_column_int64(q, 5)) > 0) {
		vg_errf(err, errlen, "credential %s is used by %" PRId64
		    " device%s", (const char *)sqlite3_column_text(q, 1), used,
		    used == 1 ? "" : "s");
		r = VG_ERR_INVAL;
		goto out;
	}
	stmt_done(q);
	q = NULL;
	if ((r = stmt_get(c, ST_CRED_DELETE, &q, err, errlen)) != 0)
		goto out;
	b_int(c, q, 1, id);
	r = run(c, q, "delete credential", err, errlen);
	q = NULL;
	if (r != 0)
		goto out;
	r = tx_commit(c, "delete credential", err, errlen);
out:
	stmt_done(q);
	if (r != 0)
		tx_rollback(c);
	return r;
}

static int
sq_credential_list(struct hub_store *s, json_t **out, char *err,
    size_t errlen)
{
	return list_all(s, ST_CRED_LIST, credential_json, "list credentials",
	    out, err, errlen);
}

static int
sq_credential_get(struct hub_store *s, int64_t id, json_t **out,
    unsigned char **box, size_t *boxlen, char *err, size_t errlen)
{
	struct sq_conn *c;
	sqlite3_stmt *q;
	size_t n;
	int r;

	*out = NULL;
	if (box != NULL) {
		*box = NULL;
		*boxlen = 0;
	}
	if ((r = conn_stmt(s, ST_CRED_GET, &c, &q, err, errlen)) != 0)
		return r;
	b_int(c, q, 1, id);
	if ((r = step_one(c, q, "get credential", err, errlen)) ==
	    VG_ERR_NOTFOUND)
		not_found(err, errlen, "credential", id);
	if (r != 0 || (r = row_object(c, q, credential_json, out)) != 0)
		goto out;
	if (box != NULL) {
		n = (size_t)sqlite3_column_bytes(q, 6);
		if ((*box = malloc(n > 0 ? n : 1)) == NULL) {
			r = VG_ERR_NOMEM;
			goto out;
		}
		if (n > 0)
			memcpy(*box, sqlite3_column_blob(q, 6), n);
		*boxlen = n;
	}
	r = 0;
out:
	stmt_done(q);
	if (r != 0) {
		json_decref(*out);
		*out = NULL;
		if (r == VG_ERR_NOMEM)
			vg_errf(err, errlen, "out of memory");
	}
	return r;
}

/* ---- proxied devices ---- */

#define RESULT_TEXT_MAX (16 * 1024 * 1024) /* config, significant: each */
#define RESULT_MESSAGE_MAX 1000        /* an error message as stored */
#define HOST_KEY_MAX 256               /* "SHA256:" and 43 base64 digits */
#define HOST_MAX 255
#define SHA256_HEX 64

/* A proxied device's row as PROXIED_STATE reads it. */
struct pstate {
	int kind, online, hk_state;
	struct hs_proxied v;            /* strings point at the ones below */
	char *name, *host, *profile, *host_key, *offered, *last_error;
	char *last_code;
	char *config_sha;
	int64_t config_version;
};

static void
pstate_free(struct pstate *ps)
{
	free(ps->name);
	free(ps->host);
	free(ps->profile);
	free(ps->host_key);
	free(ps->offered);
	free(ps->last_error);
	free(ps->last_code);
	free(ps->config_sha);
	memset(ps, 0, sizeof(*ps));
}

/* A copy of a text column, NULL for NULL; VG_ERR_NOMEM. */
static int
col_strdup(sqlite3_stmt *q, int i, char **out)
{
	const char *t = (const char *)sqlite3_column_text(q, i);

	*out = NULL;
	if (sqlite3_column_type(q, i) == SQLITE_NULL || t == NULL)
		return 0;
	return (*out = strdup(t)) != NULL ? 0 : VG_ERR_NOMEM;
}

/* Reads the device's row (any kind) into *ps, the caller's to free with
 * pstate_free(). */
static int
pstate_read(struct sq_conn *c, int64_t id, const char *op,
    struct pstate *ps, char *err, size_t errlen)
{
	sqlite3_stmt *q;
	int r;

	memset(ps, 0, sizeof(*ps));
	if ((r = stmt_get(c, ST_PROXIED_STATE, &q, err, errlen)) != 0)
		return r;
	b_int(c, q, 1, id);
	if ((r = step_one(c, q, op, err, errlen)) == VG_ERR_NOTFOUND)
		not_found(err, errlen, "device", id);
	if (r != 0)
		goto out;
	ps->kind = sqlite3_column_int(q, 0);
	ps->v.ptype = sqlite3_column_int(q, 1);
	ps->v.port = sqlite3_column_int(q, 3);
	ps->v.protocol = sqlite3_column_int(q, 4);
	ps->v.credential_id = sqlite3_column_int64(q, 6);
	ps->v.proxy_id = sqlite3_column_int64(q, 7);
	ps->v.schedule = sqlite3_column_int(q, 8);
	ps->v.legacy_ssh = sqlite3_column_int(q, 9);
	ps->hk_state = sqlite3_column_int(q, 11);
	ps->config_version = sqlite3_column_int64(q, 15);
	ps->online = sqlite3_column_int(q, 17);
	if (col_strdup(q, 2, &ps->host) != 0 ||
	    col_strdup(q, 5, &ps->profile) != 0 ||
	    col_strdup(q, 10, &ps->host_key) != 0 ||
	    col_strdup(q, 12, &ps->offered) != 0 ||
	    col_strdup(q, 13, &ps->last_error) != 0 ||
	    col_strdup(q, 18, &ps->last_code) != 0 ||
	    col_strdup(q, 14, &ps->config_sha) != 0 ||
	    col_strdup(q, 16, &ps->name) != 0) {
		vg_errf(err, errlen, "out of memory");
		r = VG_ERR_NOMEM;
		goto out;
	}
	ps->v.name = ps->name;
	ps->v.host = ps->host;
	ps->v.profile = ps->profile;
out:
	stmt_done(q);
	if (r != 0)
		pstate_free(ps);
	return r;
}

/* Whether the device of pstate_read() is a proxied one; VG_ERR_INVAL
 * saying so when not. */
static int
pstate_proxied(const struct pstate *ps, int64_t id, char *err,
    size_t errlen)
{
	if (ps->kind == HS_KIND_PROXIED)
		return 0;
	vg_errf(err, errlen, "device %" PRId64 " is an agent's own device, "
	    "not a proxied device", id);
	return VG_ERR_INVAL;
}

/* A host name or address: 1..255 printable characters without blanks. */
static int
host_ok(const char *h)
{
	size_t n;

	if (h == NULL || (n = strlen(h)) == 0 || n > HOST_MAX)
		return 0;
	for (; *h != '\0'; h++)
		if ((unsigned char)*h <= ' ' || (unsigned char)*h >= 0x7f)
			return 0;
	return 1;
}

/* Checks a proxied device's settings as they are to be stored, in the
 * caller's transaction (the proxy and the credential exist). */
static int
proxied_check(struct sq_conn *c, const struct hs_proxied *v, char *err,
    size_t errlen)
{
	int64_t kind;
	int have, r;

	if (v->name == NULL || v->name[0] == '\0') {
		vg_errf(err, errlen, "a proxied device needs a name");
		return VG_ERR_INVAL;
	}
	if (ptype_name(v->ptype) == NULL) {
		vg_errf(err, errlen, "unknown proxied device type %d", v->ptype);
		return VG_ERR_INVAL;
	}
	if (!host_ok(v->host)) {
		vg_errf(err, errlen, "host: expected a host name or address of "
		    "1 to %d characters without blanks", HOST_MAX);
		return VG_ERR_INVAL;
	}
	if (v->port < 1 || v->port > 65535) {
		vg_errf(err, errlen, "port %d is not from 1 to 65535", v->port);
		return VG_ERR_INVAL;
	}
	if (protocol_name(v->protocol) == NULL) {
		vg_errf(err, errlen, "unknown protocol %d", v->protocol);
		return VG_ERR_INVAL;
	}
	if (v->ptype == HS_PT_LINUX && v->protocol != 1) {
		vg_errf(err, errlen, "a linux device is collected over SSH "
		    "only");
		return VG_ERR_INVAL;
	}
	if ((v->ptype == HS_PT_WINDOWS) != (v->protocol == 3)) {
		vg_errf(err, errlen, "a windows device is collected over SMB, "
		    "and only windows devices are");
		return VG_ERR_INVAL;
	}
	if (v->ptype == HS_PT_NETWORK && (v->profile == NULL ||
	    v->profile[0] == '\0')) {
		vg_errf(err, errlen, "a network device needs a profile");
		return VG_ERR_INVAL;
	}
	if (v->schedule <= 0) {
		vg_errf(err, errlen, "schedule %d is not a number of seconds",
		    v->schedule);
		return VG_ERR_INVAL;
	}
	if (v->legacy_ssh != 0 && v->legacy_ssh != 1) {
		vg_errf(err, errlen, "legacy_ssh is 0 or 1");
		return VG_ERR_INVAL;
	}
	if (v->ptype == HS_PT_WINDOWS && v->legacy_ssh != 0) {
		vg_errf(err, errlen, "legacy_ssh: a windows device is not "
		    "collected over SSH");
		return VG_ERR_INVAL;
	}
	if ((r = row_exists(c, ST_CRED_EXISTS, v->credential_id, "credential",
	    "proxied device", err, errlen)) != 0)
		return r == VG_ERR_NOTFOUND ? VG_ERR_INVAL : r;
	if ((r = lookup_id(c, ST_DEVICE_KIND, v->proxy_id, "proxied device",
	    &kind, &have, err, errlen)) != 0)
		return r;
	if (!have) {
		vg_errf(err, errlen, "no device %" PRId64 " to be the proxy",
		    v->proxy_id);
		return VG_ERR_INVAL;
	}
	if (kind != HS_KIND_AGENT) {
		vg_errf(err, errlen, "device %" PRId64 " is a proxied device: "
		    "a proxy is an agent's own device", v->proxy_id);
		return VG_ERR_INVAL;
	}
	return 0;
}

static int
sq_proxied_create(struct hub_store *s, const struct hs_proxied *in,
    int64_t now, int64_t *id, char *err, size_t errlen)
{
	struct sq_conn *c;
	sqlite3_stmt *q;
	int r;

	if ((r = conn_get(s, &c, err, errlen)) != 0 ||
	    (r = tx_begin(c, "create proxied device", err, errlen)) != 0)
		return r;
	if ((r = proxied_check(c, in, err, errlen)) != 0 ||
	    (r = stmt_get(c, ST_PROXIED_INSERT, &q, err, errlen)) != 0)
		goto out;
	b_text(c, q, 1, in->name);
	b_text(c, q, 2, in->host);
	b_int(c, q, 3, in->schedule);
	b_int(c, q, 4, now > 0 ? now : wall_now());
	b_int(c, q, 5, in->proxy_id);
	b_int(c, q, 6, in->ptype);
	b_int(c, q, 7, in->port);
	b_int(c, q, 8, in->protocol);
	b_text(c, q, 9, in->ptype == HS_PT_NETWORK ? in->profile : NULL);
	b_int(c, q, 10, in->credential_id);
	b_int(c, q, 11, in->legacy_ssh);
	if ((r = run(c, q, "create proxied device", err, errlen)) != 0)
		goto out;
	if (id != NULL)
		*id = sqlite3_last_insert_rowid(c->db);
	r = tx_commit(c, "create proxied device", err, errlen);
out:
	if (r != 0)
		tx_rollback(c);
	return r;
}

/* Whether an integer of proxied_update()'s input keeps the stored value
 * (0 is no valid value of those fields either). */
static int
keep(int64_t v)
{
	return v == HS_KEEP || v == 0;
}

static int
sq_proxied_update(struct hub_store *s, int64_t id,
    const struct hs_proxied *in, char *err, size_t errlen)
{
	struct pstate ps;
	struct hs_proxied m;
	struct sq_conn *c;
	sqlite3_stmt *q;
	int r, forget;

	if ((r = conn_get(s, &c, err, errlen)) != 0 ||
	    (r = tx_begin(c, "update proxied device", err, errlen)) != 0)
		return r;
	if ((r = pstate_read(c, id, "update proxied device", &ps, err,
	    errlen)) != 0)
		goto out;
	if ((r = pstate_proxied(&ps, id, err, errlen)) != 0)
		goto out;
	m = ps.v;
	if (in->name != NULL)
		m.name = in->name;
	if (in->host != NULL)
		m.host = in->host;
	if (in->profile != NULL)
		m.profile = in->profile;
	if (!keep(in->ptype))
		m.ptype = in->ptype;
	if (!keep(in->port))
		m.port = in->port;
	if (!keep(in->protocol))
		m.protocol = in->protocol;
	if (!keep(in->credential_id))
		m.credential_id = in->credential_id;
	if (!keep(in->proxy_id))
		m.proxy_id = in->proxy_id;
	if (!keep(in->schedule))
		m.schedule = in->schedule;
	if (in->legacy_ssh != HS_KEEP)
		m.legacy_ssh = in->legacy_ssh;
	if ((r = proxied_check(c, &m, err, errlen)) != 0)
		goto out;
	/* Another address may be another machine: its key is not known.
	 * SMB has no host key: a windows device keeps none. */
	forget = strcmp(m.host, ps.host != NULL ? ps.host : "") != 0 ||
	    m.port != ps.v.port || m.ptype == HS_PT_WINDOWS;
	if ((r = stmt_get(c, ST_PROXIED_UPDATE, &q, err, errlen)) != 0)
		goto out;
	b_int(c, q, 1, id);
	b_text(c, q, 2, m.name);
	b_int(c, q, 3, m.ptype);
	b_text(c, q, 4, m.host);
	b_int(c, q, 5, m.port);
	b_int(c, q, 6, m.protocol);
	b_text(c, q, 7, m.ptype == HS_PT_NETWORK ? m.profile : NULL);
	b_int(c, q, 8, m.credential_id);
	b_int(c, q, 9, m.proxy_id);
	b_int(c, q, 10, m.schedule);
	b_int(c, q, 11, m.legacy_ssh);
	b_text(c, q, 12, forget ? NULL : ps.host_key);
	b_int(c, q, 13, forget ? HS_HK_UNKNOWN : ps.hk_state);
	b_text(c, q, 14, forget ? NULL : ps.offered);
	if ((r = run(c, q, "update proxied device", err, errlen)) != 0)
		goto out;
	r = tx_commit(c, "update proxied device", err, errlen);
out:
	if (r != 0)
		tx_rollback(c);
	pstate_free(&ps);
	return r;
}

/* An entry of proxied_for_proxy(): a PROXIED_COLS row. */
static int
proxied_entry_json(struct sq_conn *c, sqlite3_stmt *q, json_t *o)
{
	(void)c;
	if (jset(o, "id", j_int(q, 0)) != 0 ||
	    jset(o, "name", j_text(q, 1)) != 0 ||
	    jset(o, "type", j_name(ptype_name(sqlite3_column_int(q,
	    2)))) != 0 ||
	    jset(o, "host", j_text(q, 3)) != 0 ||
	    jset(o, "port", j_int(q, 4)) != 0 ||
	    jset(o, "protocol", j_name(protocol_name(sqlite3_column_int(q,
	    5)))) != 0 ||
	    jset(o, "profile", j_text(q, 6)) != 0 ||
	    jset(o, "schedule", j_int(q, 7)) != 0 ||
	    jset(o, "legacy_ssh", j_bool(q, 8)) != 0 ||
	    jset(o, "host_key", j_text(q, 9)) != 0 ||
	    jset(o, "collect", json_boolean(sqlite3_column_int(q, 10) !=
	    HS_HK_CHANGED)) != 0 ||
	    jset(o, "config_sha256", j_text(q, 11)) != 0 ||
	    jset(o, "credential_id", j_int(q, 12)) != 0 ||
	    jset(o, "credential_updated", j_int(q, 13)) != 0)
		return VG_ERR_NOMEM;
	return 0;
}

static int
sq_proxied_for_proxy(struct hub_store *s, int64_t proxy_id, json_t **out,
    char *err, size_t errlen)
{
	struct sq_conn *c;
	sqlite3_stmt *q;
	int r;

	*out = NULL;
	if ((r = conn_stmt(s, ST_PROXIED_LIST, &c, &q, err, errlen)) != 0)
		return r;
	b_int(c, q, 1, proxy_id);
	return rows_json(c, q, proxied_entry_json, "proxied devices", out,
	    err, errlen);
}

static int
sq_proxied_owned(struct hub_store *s, int64_t proxy_id, int64_t device_id)
{
	struct sq_conn *c;
	sqlite3_stmt *q;
	int r;

	if ((r = conn_stmt(s, ST_PROXIED_OWNER, &c, &q, NULL, 0)) != 0)
		return r;
	b_int(c, q, 1, device_id);
	if ((r = step_one(c, q, "device owner", NULL, 0)) == 0 &&
	    (sqlite3_column_int(q, 0) != HS_KIND_PROXIED ||
	    sqlite3_column_int64(q, 1) != proxy_id))
		r = VG_ERR_PERM;
	stmt_done(q);
	return r;
}

/* Writes the host key columns of a device. */
static int
host_key_write(struct sq_conn *c, int64_t id, const char *key, int state,
    const char *offered, const char *op, char *err, size_t errlen)
{
	sqlite3_stmt *q;
	int r;

	if ((r = stmt_get(c, ST_HOST_KEY_SET, &q, err, errlen)) != 0)
		return r;
	b_int(c, q, 1, id);
	b_text(c, q, 2, key);
	b_int(c, q, 3, state);
	b_text(c, q, 4, offered);
	return run(c, q, op, err, errlen);
}

static int
sq_host_key_set(struct hub_store *s, int64_t device_id, const char *action,
    char *err, size_t errlen)
{
	struct pstate ps;
	struct sq_conn *c;
	int r, trust;

	if (action == NULL || (strcmp(action, "trust") != 0 &&
	    strcmp(action, "forget") != 0)) {
		vg_errf(err, errlen, "host key action: expected \"trust\" or "
		    "\"forget\"");
		return VG_ERR_INVAL;
	}
	trust = strcmp(action, "trust") == 0;
	if ((r = conn_get(s, &c, err, errlen)) != 0 ||
	    (r = tx_begin(c, "set host key", err, errlen)) != 0)
		return r;
	if ((r = pstate_read(c, device_id, "set host key", &ps, err,
	    errlen)) != 0 ||
	    (r = pstate_proxied(&ps, device_id, err, errlen)) != 0)
		goto out;
	if (trust && ps.offered == NULL) {
		vg_errf(err, errlen, "device %" PRId64 " offers no new host "
		    "key to trust", device_id);
		r = VG_ERR_INVAL;
		goto out;
	}
	if ((r = host_key_write(c, device_id, trust ? ps.offered : NULL,
	    trust ? HS_HK_TRUSTED : HS_HK_UNKNOWN, NULL, "set host key", err,
	    errlen)) != 0)
		goto out;
	r = tx_commit(c, "set host key", err, errlen);
out:
	if (r != 0)
		tx_rollback(c);
	pstate_free(&ps);
	return r;
}

/* A blob column as a JSON string (bytes that are not UTF-8 become
 * U+FFFD), null for NULL. */
static json_t *
j_blob_text(sqlite3_stmt *q, int i)
{
	const void *p;

	if (sqlite3_column_type(q, i) == SQLITE_NULL)
		return json_null();
	p = sqlite3_column_blob(q, i);
	return vg_json_bytes(p != NULL ? p : "",
	    (size_t)sqlite3_column_bytes(q, i));
}

/* An entry of config_list(), or (with the text columns) config_get(). */
static int
config_json(struct sq_conn *c, sqlite3_stmt *q, json_t *o)
{
	int full = sqlite3_column_count(q) > 5;

	(void)c;
	if (jset(o, "version", j_int(q, 0)) != 0 ||
	    jset(o, "time", j_int(q, 1)) != 0 ||
	    jset(o, "sha256", j_text(q, 2)) != 0 ||
	    jset(o, "lines", j_int(q, 3)) != 0 ||
	    (!full && jset(o, "bytes", j_int(q, 4)) != 0) ||
	    (full && (jset(o, "text", j_blob_text(q, 4)) != 0 ||
	    jset(o, "significant", j_blob_text(q, 5)) != 0)))
		return VG_ERR_NOMEM;
	return 0;
}

static int
sq_config_list(struct hub_store *s, int64_t device_id, json_t **out,
    char *err, size_t errlen)
{
	return device_rows(s, device_id, ST_CONFIG_LIST, config_json,
	    "list configurations", out, err, errlen);
}

static int
sq_config_get(struct hub_store *s, int64_t device_id, int64_t version,
    json_t **out, char *err, size_t errlen)
{
	struct sq_conn *c;
	sqlite3_stmt *q;
	int r;

	*out = NULL;
	if ((r = conn_get(s, &c, err, errlen)) != 0 ||
	    (r = row_exists(c, ST_DEVICE_EXISTS, device_id, "device",
	    "get configuration", err, errlen)) != 0 ||
	    (r = stmt_get(c, ST_CONFIG_GET, &q, err, errlen)) != 0)
		return r;
	b_int(c, q, 1, device_id);
	b_int(c, q, 2, version);
	if ((r = row_json(c, q, config_json, "get configuration", out, err,
	    errlen)) == VG_ERR_NOTFOUND)
		vg_errf(err, errlen, "device %" PRId64 " has no configuration "
		    "version %" PRId64, device_id, version);
	return r;
}

/* ---- collection results ---- */

/* The events one result stores: collection works again, the change of
 * the configuration, an alert. */
#define RESULT_EVENTS 3
#define RESULT_MSG_LEN (RESULT_MESSAGE_MAX + 2 * HOST_KEY_MAX + HOST_MAX + \
	200)

struct result_work {
	struct hs_event_in ev[RESULT_EVENTS];
	char msg[RESULT_EVENTS][RESULT_MSG_LEN];
	size_t n;
	int change_at;                  /* index of the change event, -1 */
	struct vg_change ch;            /* the change event's (owned) */
};

/* Adds an AGENT event of the device with the message fmt. */
static void result_note(struct result_work *w, int64_t id, int64_t time_ns,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
result_note(struct result_work *w, int64_t id, int64_t time_ns,
    const char *fmt, ...)
{
	struct hs_event_in *e = &w->ev[w->n];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->msg[w->n], sizeof(w->msg[w->n]), fmt, ap);
	va_end(ap);
	memset(e, 0, sizeof(*e));
	e->device_id = id;
	e->time_ns = time_ns;
	e->origin = ORIGIN_HUB;
	e->type = HS_EV_AGENT;
	e->message = w->msg[w->n];
	w->n++;
}

/* An item of the configuration, "config", with the properties sha256,
 * version and lines. */
static struct vg_item *
config_item(const char *sha, int64_t version, int64_t lines)
{
	static const char path[] = "config";
	struct vg_item *it;
	char v[24], l[24];

	if ((it = vg_item_new(VG_KIND_DEVCONFIG, path, sizeof(path) - 1)) ==
	    NULL)
		return NULL;
	snprintf(v, sizeof(v), "%" PRId64, version);
	snprintf(l, sizeof(l), "%" PRId64, lines);
	if (vg_item_set_prop(it, "sha256", sha) != 0 ||
	    vg_item_set_prop(it, "version", v) != 0 ||
	    vg_item_set_prop(it, "lines", l) != 0) {
		vg_item_free(it);
		return NULL;
	}
	it->have = VG_A_PROPS;
	return it;
}

/*
 * Makes the change event of a new configuration version against the one
 * before (ps->config_version, in the database), with the unified diff of
 * their significant views.
 */
static int
result_change(struct sq_conn *c, int64_t id, const struct pstate *ps,
    const struct hs_result *in, const char *sha, int64_t time_ns,
    struct result_work *w, char *err, size_t errlen)
{
	struct vg_diff_opts opts;
	struct vg_diff_result res;
	struct hs_event_in *e;
	sqlite3_stmt *q;
	char la[40], lb[40];
	const void *prev;
	int r;

	memset(&res, 0, sizeof(res));
	if ((r = stmt_get(c, ST_CONFIG_PREVIOUS, &q, err, errlen)) != 0)
		return r;
	b_int(c, q, 1, id);
	b_int(c, q, 2, ps->config_version);
	if ((r = step_one(c, q, "store configuration", err, errlen)) != 0) {
		stmt_done(q);
		/* None (a damaged history): the new one is a baseline. */
		return r == VG_ERR_NOTFOUND ? 0 : r;
	}
	w->ch.type = VG_CHANGE_CHANGED;
	w->ch.changed = VG_A_PROPS;
	if ((w->ch.old = config_item(ps->config_sha != NULL ? ps->config_sha :
	    "", ps->config_version, sqlite3_column_int64(q, 0))) == NULL ||
	    (w->ch.new = config_item(sha, ps->config_version + 1,
	    in->lines)) == NULL) {
		r = VG_ERR_NOMEM;
		goto out;
	}
	snprintf(la, sizeof(la), "version %" PRId64, ps->config_version);
	snprintf(lb, sizeof(lb), "version %" PRId64, ps->config_version + 1);
	vg_diff_opts_default(&opts);
	prev = sqlite3_column_blob(q, 1);
	if ((r = vg_diff_unified(prev != NULL ? prev : "",
	    (size_t)sqlite3_column_bytes(q, 1), in->significant,
	    in->significant_len, la, lb, &opts, &res)) != 0)
		goto out;
	if (res.len > 0) {
		w->ch.diff = res.text;
		w->ch.diff_truncated = res.truncated;
		res.text = NULL;
	}
	e = &w->ev[w->n];
	memset(e, 0, sizeof(*e));
	e->device_id = id;
	e->time_ns = time_ns;
	e->origin = ORIGIN_SCAN;
	e->type = HS_EV_CHANGED;
	e->change = &w->ch;
	w->change_at = (int)w->n++;
out:
	stmt_done(q);
	vg_diff_result_free(&res);
	if (r == VG_ERR_NOMEM)
		vg_errf(err, errlen, "out of memory");
	return r;
}

/* Stores a new configuration version (and its change event when it is
 * not the first). */
static int
result_config(struct sq_conn *c, int64_t id, const struct pstate *ps,
    const struct hs_result *in, const char *sha, int64_t when,
    struct result_work *w, char *err, size_t errlen)
{
	sqlite3_stmt *q;
	int64_t version = ps->config_version + 1;
	int r;

	if (ps->config_version > 0 && (r = result_change(c, id, ps, in, sha,
	    when * 1000000000, w, err, errlen)) != 0)
		return r;
	if ((r = stmt_get(c, ST_CONFIG_INSERT, &q, err, errlen)) != 0)
		return r;
	b_int(c, q, 1, id);
	b_int(c, q, 2, version);
	b_int(c, q, 3, when);
	b_text(c, q, 4, sha);
	b_int(c, q, 5, in->lines);
	b_blob(c, q, 6, in->config_len > 0 ? in->config : "", in->config_len);
	b_blob(c, q, 7, in->significant_len > 0 ? in->significant : "",
	    in->significant_len);
	if ((r = run(c, q, "store configuration", err, errlen)) != 0 ||
	    (r = stmt_get(c, ST_CONFIG_HEAD, &q, err, errlen)) != 0)
		return r;
	b_int(c, q, 1, id);
	b_text(c, q, 2, sha);
	b_int(c, q, 3, version);
	return run(c, q, "store configuration", err, errlen);
}

/* Records a good collection as device_touch() records a poll, durably:
 * online (with its event when it was not) and last_seen. */
static int
result_touch(struct sq_conn *c, int64_t id, int64_t now, char *err,
    size_t errlen)
{
	sqlite3_stmt *q;
	int r;

	if ((r = stmt_get(c, ST_DEVICE_ONLINE, &q, err, errlen)) != 0)
		return r;
	b_int(c, q, 1, id);
	b_int(c, q, 2, now);
	if ((r = run(c, q, "store result", err, errlen)) != 0)
		return r;
	if (sqlite3_changes(c->db) > 0 &&
	    (r = hub_event(c, id, HS_EV_ONLINE, "collected by its proxy",
	    now, err, errlen)) != 0)
		return r;
	if ((r = stmt_get(c, ST_DEVICE_LAST_SEEN, &q, err, errlen)) != 0)
		return r;
	b_int(c, q, 1, id);
	b_int(c, q, 2, now);
	return run(c, q, "store result", err, errlen);
}

/* Checks a result before anything is read; *sha receives its sha256 in
 * lower case ("" when it has none). */
static int
result_check(const struct hs_result *in, char sha[SHA256_HEX + 1],
    char *err, size_t errlen)
{
	size_t i;

	sha[0] = '\0';
	if (in->status < 0 || in->status > 2) {
		vg_errf(err, errlen, "unknown result status %d", in->status);
		return VG_ERR_INVAL;
	}
	if (in->host_key != NULL && (in->host_key[0] == '\0' ||
	    strlen(in->host_key) > HOST_KEY_MAX)) {
		vg_errf(err, errlen, "host_key: expected a fingerprint of 1 to "
		    "%d characters", HOST_KEY_MAX);
		return VG_ERR_INVAL;
	}
	if (in->status == 2 && in->host_key == NULL) {
		vg_errf(err, errlen, "a hostkey_changed result needs the "
		    "host key seen");
		return VG_ERR_INVAL;
	}
	if (in->config_len > RESULT_TEXT_MAX ||
	    in->significant_len > RESULT_TEXT_MAX) {
		vg_errf(err, errlen, "a configuration is larger than %d MiB",
		    RESULT_TEXT_MAX >> 20);
		return VG_ERR_TOOBIG;
	}
	if (in->status != 0)
		return 0;
	if (in->config != NULL && (in->sha256 == NULL ||
	    in->significant == NULL)) {
		vg_errf(err, errlen, "a configuration comes with its "
		    "significant view and its sha256");
		return VG_ERR_INVAL;
	}
	if (in->lines < 0) {
		vg_errf(err, errlen, "lines: %" PRId64 " is negative",
		    in->lines);
		return VG_ERR_INVAL;
	}
	if (in->sha256 == NULL)
		return 0;
	if (strlen(in->sha256) != SHA256_HEX)
		goto bad;
	for (i = 0; i < SHA256_HEX; i++) {
		if (vg_hex_digit((unsigned char)in->sha256[i]) < 0)
			goto bad;
		sha[i] = (char)(in->sha256[i] >= 'A' && in->sha256[i] <= 'F' ?
		    in->sha256[i] - 'A' + 'a' : in->sha256[i]);
	}
	sha[SHA256_HEX] = '\0';
	return 0;
bad:
	vg_errf(err, errlen, "sha256: expected 64 hex digits");
	return VG_ERR_INVAL;
}

/*
 * The host key of a result against the stored one, in the transaction:
 * trusted on first use, or, when it differs from the trusted one, an
 * alert (once per new key) and *discard = 1.
 */
static int
result_host_key(struct sq_conn *c, int64_t id, const struct pstate *ps,
    const struct hs_result *in, int64_t time_ns, struct result_work *w,
    int *state, int *discard, char *err, size_t errlen)
{
	const char *seen = in->host_key;

	*discard = 0;
	*state = ps->hk_state;
	/* SMB has no host key: a windows device records none. */
	if (seen == NULL || ps->v.ptype == HS_PT_WINDOWS)
		return 0;
	if (ps->host_key == NULL || strcmp(ps->host_key, seen) == 0) {
		*state = HS_HK_TRUSTED;
		/* Unchanged: nothing to write. */
		if (ps->host_key != NULL && ps->hk_state == HS_HK_TRUSTED &&
		    ps->offered == NULL)
			return 0;
		return host_key_write(c, id, seen, HS_HK_TRUSTED, NULL,
		    "store result", err, errlen);
	}
	*state = HS_HK_CHANGED;
	*discard = 1;
	/* Said once per key offered: the proxy stops until trusted. */
	if (ps->hk_state == HS_HK_CHANGED && ps->offered != NULL &&
	    strcmp(ps->offered, seen) == 0)
		return 0;
	result_note(w, id, time_ns, "hostkey_changed: host key of %s:%d "
	    "changed from %s to %s; collection stopped until an "
	    "administrator trusts the new key", ps->host != NULL ? ps->host :
	    "?", ps->v.port, ps->host_key, seen);
	return host_key_write(c, id, ps->host_key, HS_HK_CHANGED, seen,
	    "store result", err, errlen);
}

/* Stores the events a result made in the transaction, without a seq:
 * a Linux-type device's own events are numbered by its proxy, and a
 * number taken here could make the hub drop one of them as re-sent.
 * *event_id: the change event, else the last one. */
static int
result_events(struct sq_conn *c, struct result_work *w, int64_t now,
    int64_t *event_id, char *err, size_t errlen)
{
	struct packed_event *p = NULL;
	struct batch_count *counts = NULL;
	unsigned char stored[RESULT_EVENTS];
	int64_t ids[RESULT_EVENTS];
	size_t i;
	int r;

	*event_id = 0;
	if (w->n == 0)
		return 0;
	for (i = 0; i < w->n; i++)
		w->ev[i].seq = 0;
	if ((r = events_prepare(w->ev, w->n, &p, &counts, err, errlen)) != 0)
		return r;
	if ((r = events_write(c, w->ev, p, counts, w->n, now, stored, ids,
	    err, errlen)) == 0)
		*event_id = ids[w->change_at >= 0 ? (size_t)w->change_at :
		    w->n - 1];
	packed_free(p, w->n);
	free(counts);
	return r;
}

static int
sq_proxied_result(struct hub_store *s, int64_t device_id,
    const struct hs_result *in, struct hs_result_out *o, char *err,
    size_t errlen)
{
	struct sq_store *st = SQ(s);
	struct result_work w;
	struct pstate ps;
	struct sq_conn *c;
	struct seen *e;
	sqlite3_stmt *q;
	char sha[SHA256_HEX + 1], message[RESULT_MESSAGE_MAX + 1];
	int64_t now = in->now > 0 ? in->now : wall_now();
	int64_t when = in->time > 0 ? in->time : now;
	int r, discard, state, ok = in->status == 0, touched = 0;

	memset(o, 0, sizeof(*o));
	memset(&w, 0, sizeof(w));
	memset(&ps, 0, sizeof(ps));
	w.change_at = -1;
	message[0] = '\0';
	if ((r = result_check(in, sha, err, errlen)) != 0)
		return r;
	if ((r = conn_get(s, &c, err, errlen)) != 0 ||
	    (r = tx_begin(c, "store result", err, errlen)) != 0)
		return r;
	if ((r = pstate_read(c, device_id, "store result", &ps, err,
	    errlen)) != 0 ||
	    (r = pstate_proxied(&ps, device_id, err, errlen)) != 0)
		goto out;
	o->version = ps.config_version;
	/* The configuration must come when it is not the stored one: then
	 * nothing is stored (the proxy sends again with it). */
	if (ok && sha[0] != '\0' && in->config == NULL &&
	    (ps.config_sha == NULL || strcmp(sha, ps.config_sha) != 0) &&
	    (in->host_key == NULL || ps.host_key == NULL ||
	    strcmp(in->host_key, ps.host_key) == 0)) {
		o->config_required = 1;
		o->host_key_state = ps.hk_state;
		r = 0;
		goto out;
	}
	if ((r = result_host_key(c, device_id, &ps, in, when * 1000000000,
	    &w, &state, &discard, err, errlen)) != 0)
		goto out;
	o->host_key_state = state;
	/* Not the device trusted, or nothing collected. */
	if (discard || in->status == 2)
		goto events;
	if (ok) {
		if (sha[0] != '\0' && (ps.config_sha == NULL ||
		    strcmp(sha, ps.config_sha) != 0)) {
			if ((r = result_config(c, device_id, &ps, in, sha, when,
			    &w, err, errlen)) != 0)
				goto out;
			o->changed = 1;
			o->version = ps.config_version + 1;
		}
		if (ps.last_error != NULL)
			result_note(&w, device_id, when * 1000000000,
			    "collection_ok: collection works again");
		if ((r = result_touch(c, device_id, now, err, errlen)) != 0)
			goto out;
		touched = 1;
	} else {
		snprintf(message, sizeof(message), "%s", in->message != NULL ?
		    in->message : in->code != NULL ? in->code :
		    "collection failed");
		/* One event per kind of failure: a cut-off device's message
		 * ends with the last line seen, different every time. */
		if (ps.last_error == NULL || (in->code != NULL ?
		    ps.last_code == NULL || strcmp(ps.last_code,
		    in->code) != 0 : strcmp(ps.last_error, message) != 0))
			result_note(&w, device_id, when * 1000000000,
			    "collection_error: %s", message);
	}
	if ((r = stmt_get(c, ST_RESULT_SET, &q, err, errlen)) != 0)
		goto out;
	b_int(c, q, 1, device_id);
	if (ok)
		b_int(c, q, 2, when);
	b_text(c, q, 3, ok ? NULL : message);
	b_text(c, q, 4, ok ? NULL : in->code);
	if ((r = run(c, q, "store result", err, errlen)) != 0)
		goto out;
events:
	if ((r = result_events(c, &w, now, &o->event_id, err,
	    errlen)) != 0)
		goto out;
	r = tx_commit(c, "store result", err, errlen);
out:
	/* A configuration asked for stores nothing either. */
	if (r != 0 || o->config_required)
		tx_rollback(c);
	if (r != 0) {
		memset(o, 0, sizeof(*o));
		touched = 0;
	}
	if (touched) {
		pthread_mutex_lock(&st->seen_mu);
		if ((e = seen_get(st, device_id)) != NULL) {
			e->known = 1;
			e->online = 1;
			if (now > e->last_seen)
				e->last_seen = now;
		}
		pthread_mutex_unlock(&st->seen_mu);
	}
	vg_change_clear(&w.ch);
	pstate_free(&ps);
	return r;
}

/* ---- audit ---- */

static int
sq_audit_add(struct hub_store *s, const char *who, const char *peer,
    const char *what, const char *target, const json_t *detail,
    int64_t now, char *err, size_t errlen)
{
	struct sq_conn *c;
	sqlite3_stmt *q;
	char *d = NULL;
	int r;

	if (what == NULL) {
		vg_errf(err, errlen, "audit_add: no action");
		return VG_ERR_INVAL;
	}
	if (detail != NULL && (d = json_dumps(detail, JSON_COMPACT |
	    JSON_SORT_KEYS | JSON_ENCODE_ANY)) == NULL) {
		vg_errf(err, errlen, "out of memory");
		return VG_ERR_NOMEM;
	}
	if ((r = conn_stmt(s, ST_AUDIT_INSERT, &c, &q, err, errlen)) != 0)
		goto out;
	b_int(c, q, 1, now);
	b_text(c, q, 2, who);
	b_text(c, q, 3, peer);
	b_text(c, q, 4, what);
	b_text(c, q, 5, target);
	b_text(c, q, 6, d);
	r = run(c, q, "audit", err, errlen);
out:
	free(d);
	return r;
}

static int
audit_json(struct sq_conn *c, sqlite3_stmt *q, json_t *o)
{
	json_t *d;

	(void)c;
	if (jset(o, "id", j_int(q, 0)) != 0 ||
	    jset(o, "time", j_int(q, 1)) != 0 ||
	    jset(o, "user", j_text(q, 2)) != 0 ||
	    jset(o, "peer", j_text(q, 3)) != 0 ||
	    jset(o, "action", j_text(q, 4)) != 0 ||
	    jset(o, "target", j_text(q, 5)) != 0 ||
	    jset(o, "detail", (d = j_doc(q, 6, NULL)) != NULL ? d :
	    json_null()) != 0)
		return VG_ERR_NOMEM;
	return 0;
}

static int
sq_audit_list(struct hub_store *s, int64_t before_id, int limit,
    json_t **out, char *err, size_t errlen)
{
	struct sq_conn *c;
	sqlite3_stmt *q;
	int r;

	*out = NULL;
	if ((r = conn_stmt(s, ST_AUDIT_LIST, &c, &q, err, errlen)) != 0)
		return r;
	b_int(c, q, 1, before_id > 0 ? before_id : INT64_MAX);
	b_int(c, q, 2, clamp_limit(limit));
	return rows_json(c, q, audit_json, "list audit", out, err, errlen);
}

/* ---- settings ---- */

static int
sq_setting_get(struct hub_store *s, const char *key, char **value,
    char *err, size_t errlen)
{
	struct sq_conn *c;
	sqlite3_stmt *q;
	int r;

	*value = NULL;
	if ((r = conn_stmt(s, ST_SETTING_GET, &c, &q, err, errlen)) != 0)
		return r;
	b_text(c, q, 1, key);
	if ((r = step_one(c, q, "get setting", err, errlen)) == 0 &&
	    (*value = strdup((const char *)sqlite3_column_text(q,
	    0))) == NULL) {
		vg_errf(err, errlen, "out of memory");
		r = VG_ERR_NOMEM;
	} else if (r == VG_ERR_NOTFOUND)
		vg_errf(err, errlen, "setting \"%s\" is not set", key);
	stmt_done(q);
	return r;
}

static int
sq_setting_set(struct hub_store *s, const char *key, const char *value,
    char *err, size_t errlen)
{
	struct sq_conn *c;
	sqlite3_stmt *q;
	int r;

	if (key == NULL) {
		vg_errf(err, errlen, "setting_set: no key");
		return VG_ERR_INVAL;
	}
	/* NULL unsets. */
	if ((r = conn_stmt(s, value ? ST_SETTING_SET : ST_SETTING_DELETE,
	    &c, &q, err, errlen)) != 0)
		return r;
	b_text(c, q, 1, key);
	if (value != NULL)
		b_text(c, q, 2, value);
	return run(c, q, "set setting", err, errlen);
}

static int
stats_json(struct sq_conn *c, sqlite3_stmt *q, json_t *o)
{
	(void)c;
	if (jset(o, "devices", j_int(q, 0)) != 0 ||
	    jset(o, "events", j_int(q, 1)) != 0 ||
	    jset(o, "db_bytes", j_int(q, 2)) != 0)
		return VG_ERR_NOMEM;
	return 0;
}

static int
sq_stats(struct hub_store *s, json_t **out, char *err, size_t errlen)
{
	struct sq_conn *c;
	sqlite3_stmt *q;
	int r;

	*out = NULL;
	if ((r = conn_stmt(s, ST_STATS, &c, &q, err, errlen)) != 0)
		return r;
	/* The statement reads counts: it always has its one row. */
	return row_json(c, q, stats_json, "stats", out, err, errlen);
}

/* ---- the console's overview ---- */

/* One entry of the overview's problems, sorted by time before output. */
struct problem {
	int64_t time;
	json_t *obj;
};

static int
problem_cmp(const void *a, const void *b)
{
	const struct problem *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? 1 : -1;
	return strcmp(json_string_value(json_object_get(x->obj, "type")),
	    json_string_value(json_object_get(y->obj, "type")));
}

/* Adds a problem of the row's columns: device id, device name, then
 * (at col) message, time and event id. */
static int
problem_add(struct problem **list, size_t *n, size_t *cap,
    sqlite3_stmt *q, const char *type, int col)
{
	struct problem *grown;
	json_t *o;

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		if ((grown = reallocarray(*list, *cap, sizeof(**list))) ==
		    NULL)
			return VG_ERR_NOMEM;
		*list = grown;
	}
	o = json_pack("{s:o, s:o, s:s, s:o, s:o, s:o}", "device_id",
	    j_int(q, 0), "device", j_text(q, 1), "type", type, "message",
	    j_text(q, col), "time", j_int(q, col + 1), "event_id",
	    j_int(q, col + 2));
	if (o == NULL)
		return VG_ERR_NOMEM;
	(*list)[*n].time = sqlite3_column_int64(q, col + 1);
	(*list)[(*n)++].obj = o;
	return 0;
}

#define PROBLEMS_MAX 100

/* The problems of the overview (store.h dashboard()). */
static int
dash_problems(struct sq_conn *c, int64_t from, json_t **out, char *err,
    size_t errlen)
{
	struct problem *list = NULL;
	size_t n = 0, cap = 0, i;
	sqlite3_stmt *q;
	json_t *a = NULL;
	int rc, r;

	*out = NULL;
	/* Offline devices, with their last offline event; the time is the
	 * last contact when there is none. */
	if ((r = stmt_get(c, ST_DASH_OFFLINE, &q, err, errlen)) != 0)
		goto out;
	while ((rc = step(c, q)) == SQLITE_ROW)
		if ((r = problem_add(&list, &n, &cap, q, "offline", 2)) != 0)
			break;
	stmt_done(q);
	if (r == 0 && rc != SQLITE_DONE)
		r = sq_fail(c, rc, "overview", err, errlen);
	if (r != 0)
		goto out;
	if ((r = stmt_get(c, ST_DASH_NOTICES, &q, err, errlen)) != 0)
		goto out;
	b_int(c, q, 1, from);
	while ((rc = step(c, q)) == SQLITE_ROW) {
		if ((r = problem_add(&list, &n, &cap, q,
		    sqlite3_column_int(q, 2) == HS_EV_CLONE ? "clone" : "agent",
		    3)) != 0)
			break;
	}
	stmt_done(q);
	if (r == 0 && rc != SQLITE_DONE)
		r = sq_fail(c, rc, "overview", err, errlen);
	if (r != 0)
		goto out;
	if (n > 1)
		qsort(list, n, sizeof(*list), problem_cmp);
	if ((a = json_array()) == NULL) {
		r = VG_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n && i < PROBLEMS_MAX; i++) {
		if (json_array_append(a, list[i].obj) != 0) {
			r = VG_ERR_NOMEM;
			goto out;
		}
	}
	*out = a;
	a = NULL;
out:
	for (i = 0; i < n; i++)
		json_decref(list[i].obj);
	free(list);
	json_decref(a);
	return r;
}

/* The overview's change counts: one point per bucket from `from` to now. */
static int
dash_points(struct sq_conn *c, int64_t from, int bucket, int64_t npoints,
    json_t **out, char *err, size_t errlen)
{
	static const char *const names[] = { "added", "removed", "changed" };
	int64_t *count = NULL, t, k;
	sqlite3_stmt *q;
	json_t *a = NULL, *p;
	int rc, r, type;

	*out = NULL;
	if ((count = calloc((size_t)npoints * 3, sizeof(*count))) == NULL)
		return VG_ERR_NOMEM;
	if ((r = stmt_get(c, ST_DASH_POINTS, &q, err, errlen)) != 0)
		goto out;
	b_int(c, q, 1, from / 3600);
	b_int(c, q, 2, bucket);
	while ((rc = step(c, q)) == SQLITE_ROW) {
		t = sqlite3_column_int64(q, 0);
		type = sqlite3_column_int(q, 1);
		k = (t - from) / bucket;
		/* Received in the future (a clock set back): left out. */
		if (k < 0 || k >= npoints || type < HS_EV_ADDED ||
		    type > HS_EV_CHANGED)
			continue;
		count[k * 3 + type - HS_EV_ADDED] += sqlite3_column_int64(q, 2);
	}
	stmt_done(q);
	if (rc != SQLITE_DONE) {
		r = sq_fail(c, rc, "overview", err, errlen);
		goto out;
	}
	r = VG_ERR_NOMEM;
	if ((a = json_array()) == NULL)
		goto out;
	for (k = 0; k < npoints; k++) {
		p = json_pack("{s:I, s:I, s:I, s:I}", "t",
		    (json_int_t)(from + k * bucket), names[0],
		    (json_int_t)count[k * 3], names[1],
		    (json_int_t)count[k * 3 + 1], names[2],
		    (json_int_t)count[k * 3 + 2]);
		if (p == NULL || json_array_append_new(a, p) != 0)
			goto out;
	}
	*out = a;
	a = NULL;
	r = 0;
out:
	json_decref(a);
	free(count);
	return r;
}

static int
top_json(struct sq_conn *c, sqlite3_stmt *q, json_t *o)
{
	(void)c;
	if (jset(o, "id", j_int(q, 0)) != 0 ||
	    jset(o, "name", j_text(q, 1)) != 0 ||
	    jset(o, "changes", j_int(q, 2)) != 0)
		return VG_ERR_NOMEM;
	return 0;
}

#define DASH_MAX_POINTS 10000

static int
sq_dashboard(struct hub_store *s, int64_t from, int bucket, int64_t now,
    json_t **out, char *err, size_t errlen)
{
	struct sq_conn *c;
	sqlite3_stmt *q;
	json_t *o = NULL, *points = NULL, *top = NULL, *latest = NULL;
	json_t *problems = NULL;
	int64_t total = 0, online = 0, events = 0, npoints;
	int r;

	*out = NULL;
	if ((bucket != 3600 && bucket != 86400) || from < 0 ||
	    from % bucket != 0 || now < from ||
	    (npoints = (now - from) / bucket + 1) > DASH_MAX_POINTS) {
		vg_errf(err, errlen, "overview: bad window (from %" PRId64
		    ", bucket %d, now %" PRId64 ")", from, bucket, now);
		return VG_ERR_INVAL;
	}
	if ((r = conn_get(s, &c, err, errlen)) != 0)
		return r;
	if ((r = stmt_get(c, ST_DASH_DEVICES, &q, err, errlen)) != 0)
		return r;
	if ((r = step_one(c, q, "overview", err, errlen)) == 0) {
		total = sqlite3_column_int64(q, 0);
		online = sqlite3_column_int64(q, 1);
	}
	stmt_done(q);
	if (r != 0 || (r = stmt_get(c, ST_STATS, &q, err, errlen)) != 0)
		return r;
	if ((r = step_one(c, q, "overview", err, errlen)) == 0)
		events = sqlite3_column_int64(q, 1);
	stmt_done(q);
	if (r != 0 ||
	    (r = dash_points(c, from, bucket, npoints, &points, err,
	    errlen)) != 0)
		goto out;
	if ((r = stmt_get(c, ST_DASH_TOP, &q, err, errlen)) != 0)
		goto out;
	b_int(c, q, 1, from / 3600);
	if ((r = rows_json(c, q, top_json, "overview", &top, err,
	    errlen)) != 0 ||
	    (r = stmt_get(c, ST_DASH_LATEST, &q, err, errlen)) != 0 ||
	    (r = rows_json(c, q, event_summary, "overview", &latest, err,
	    errlen)) != 0 ||
	    (r = dash_problems(c, from, &problems, err, errlen)) != 0)
		goto out;
	o = json_pack("{s:{s:I, s:I, s:I}, s:{s:I}, s:{s:i, s:O},"
	    " s:O, s:O, s:O}",
	    "devices", "total", (json_int_t)total, "online",
	    (json_int_t)online, "offline", (json_int_t)(total - online),
	    "events", "total", (json_int_t)events,
	    "changes", "bucket", bucket, "points", points,
	    "top_devices", top, "latest", latest, "problems", problems);
	if (o == NULL) {
		r = VG_ERR_NOMEM;
		goto out;
	}
	*out = o;
	r = 0;
out:
	if (r == VG_ERR_NOMEM)
		vg_errf(err, errlen, "out of memory");
	json_decref(points);
	json_decref(top);
	json_decref(latest);
	json_decref(problems);
	return r;
}

/* ---- open and close ---- */

static void
sq_close(struct hub_store *s)
{
	struct sq_store *st = SQ(s);
	struct sq_conn *c, *next;

	if (st == NULL)
		return;
	/* Polls seen since the last flush are not lost on a clean stop. */
	sq_flush(s, NULL, 0);
	/* No destructor runs for this key any more; every connection,
	 * whichever thread opened it, is closed here. */
	pthread_key_delete(st->key);
	pthread_mutex_lock(&st->conns_mu);
	for (c = st->conns; c != NULL; c = next) {
		next = c->next;
		conn_free(c);
	}
	st->conns = NULL;
	pthread_mutex_unlock(&st->conns_mu);
	pthread_mutex_destroy(&st->conns_mu);
	pthread_mutex_destroy(&st->seen_mu);
	free(st->seen);
	free(st->path);
	free(st);
}

static const struct hub_store_ops sqlite_ops = {
	.name = "sqlite",
	.close = sq_close,
	.user_create = sq_user_create,
	.user_get_by_name = sq_user_get_by_name,
	.user_get = sq_user_get,
	.user_list = sq_user_list,
	.user_update = sq_user_update,
	.user_delete = sq_user_delete,
	.session_create = sq_session_create,
	.session_get = sq_session_get,
	.session_touch = sq_session_touch,
	.session_delete = sq_session_delete,
	.session_purge = sq_session_purge,
	.device_register = sq_device_register,
	.agent_auth = sq_agent_auth,
	.device_owned = sq_device_owned,
	.device_get = sq_device_get,
	.device_list = sq_device_list,
	.device_delete = sq_device_delete,
	.device_touch = sq_device_touch,
	.devices_mark_offline = sq_devices_mark_offline,
	.flush = sq_flush,
	.group_create = sq_group_create,
	.group_get = sq_group_get,
	.group_list = sq_group_list,
	.group_rename = sq_group_rename,
	.group_delete = sq_group_delete,
	.group_member = sq_group_member,
	.policy_get = sq_policy_get,
	.policy_set = sq_policy_set,
	.device_policies = sq_device_policies,
	.events_insert = sq_events_insert,
	.event_query = sq_event_query,
	.event_get = sq_event_get,
	.event_ack = sq_event_ack,
	.event_accept = sq_event_accept,
	.events_purge = sq_events_purge,
	.audit_add = sq_audit_add,
	.audit_list = sq_audit_list,
	.device_last_seq = sq_device_last_seq,
	.setting_get = sq_setting_get,
	.setting_set = sq_setting_set,
	.stats = sq_stats,
	.dashboard = sq_dashboard,
	.credential_create = sq_credential_create,
	.credential_update = sq_credential_update,
	.credential_delete = sq_credential_delete,
	.credential_list = sq_credential_list,
	.credential_get = sq_credential_get,
	.proxied_create = sq_proxied_create,
	.proxied_update = sq_proxied_update,
	.proxied_for_proxy = sq_proxied_for_proxy,
	.proxied_owned = sq_proxied_owned,
	.proxied_result = sq_proxied_result,
	.host_key_set = sq_host_key_set,
	.config_list = sq_config_list,
	.config_get = sq_config_get,
};

int
hub_store_sqlite_open(const char *path, struct hub_store **out, char *err,
    size_t errlen)
{
	struct sq_store *st = NULL;
	struct sq_conn *c = NULL;
	int fd, r, key_made = 0, mu_made = 0;

	*out = NULL;
	if (path == NULL || path[0] == '\0') {
		vg_errf(err, errlen, "no database path given");
		return VG_ERR_INVAL;
	}
	/* Created here so that it is private from the start; SQLite gives
	 * the -wal and -shm files the same mode. */
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY,
	    0600)) < 0) {
		r = vg_err_from_errno(errno);
		vg_errf(err, errlen, "cannot open database %s: %s", path,
		    strerror(errno));
		return r;
	}
	close(fd);
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->path = strdup(path)) == NULL) {
		r = VG_ERR_NOMEM;
		vg_errf(err, errlen, "out of memory");
		goto fail;
	}
	st->base.ops = &sqlite_ops;
	if (pthread_key_create(&st->key, conn_thread_exit) != 0) {
		r = VG_ERR_NOMEM;
		vg_errf(err, errlen, "cannot create a thread key");
		goto fail;
	}
	key_made = 1;
	pthread_mutex_init(&st->conns_mu, NULL);
	pthread_mutex_init(&st->seen_mu, NULL);
	mu_made = 1;
	if ((r = conn_open(st, &c, err, errlen)) != 0 ||
	    (r = schema_setup(c, err, errlen)) != 0)
		goto fail;
	if (pthread_setspecific(st->key, c) != 0) {
		r = VG_ERR_NOMEM;
		vg_errf(err, errlen, "out of memory");
		goto fail;
	}
	conn_link(st, c);
	*out = &st->base;
	return 0;
fail:
	conn_free(c);
	if (key_made)
		pthread_key_delete(st->key);
	if (mu_made) {
		pthread_mutex_destroy(&st->conns_mu);
		pthread_mutex_destroy(&st->seen_mu);
	}
	if (st != NULL)
		free(st->path);
	free(st);
	return r;
}
