/*
 * config_keys: the one table of every configuration key sensorpipe knows.
 * docs/configuration.md is generated from it (`make docs`) and a unit test
 * fails when the two disagree. Included several times with KEY defined.
 *
 * KEY(name, type, default, stages, flags, min, max, choices, help)
 *   type     CT_STRING CT_INT CT_DURATION (ms) CT_SIZE (bytes) CT_BOOL
 *            CT_URL (choices: schemes) CT_ENUM (choices) CT_LIST CT_HOSTPORT
 *   default  text parsed like any value; NULL: unset. "{prog}" and
 *            "{hostname}" in a default are expanded at load.
 *   stages   which programs use it (ST_*); others ignore it silently
 *   flags    CF_SECRET (redacted, scrubbed from logs, refused as placeholder)
 *   min/max  range for CT_INT, CT_DURATION (ms) and CT_SIZE (bytes)
 */
#define KIB_ 1024LL
#define MIB_ (1024LL * 1024)
#define GIB_ (1024LL * 1024 * 1024)
#define S_ 1000LL
#define H_ 3600000LL

/* all stages */
KEY(APP_ENV, CT_ENUM, "dev", ST_ALL, 0, 0, 0, "dev|staging|prod",
    "profile: loads .env.<APP_ENV> beside the env file; prod refuses missing secrets and placeholders")
KEY(LOG_LEVEL, CT_ENUM, "info", ST_ALL, 0, 0, 0, "error|warn|info|debug",
    "least severe level logged")
KEY(LOG_FORMAT, CT_ENUM, "text", ST_ALL, 0, 0, 0, "text|json",
    "log line format on stderr and LOG_FILE")
KEY(LOG_FILE, CT_STRING, NULL, ST_ALL, 0, 0, 0, NULL,
    "also append logs to this file; reopened on SIGHUP")
KEY(STATS_INTERVAL, CT_DURATION, "10s", ST_ALL, 0, 0, 24 * H_, NULL,
    "period of the stats log line; 0 turns it off")
KEY(DEAD_LETTER_FILE, CT_STRING, NULL, ST_ALL, 0, 0, 0, NULL,
    "append rejected input here as NDJSON with the reason")

/* MQTT connection: mqtt-ingest and mqtt-publish */
KEY(MQTT_URL, CT_URL, "tcp://127.0.0.1:1883", ST_MQTT, 0, 0, 0,
    "tcp|ssl|mqtt|mqtts|ws|wss", "broker URL")
KEY(MQTT_TOPICS, CT_LIST, "sensors/#", ST_INGEST, 0, 0, 0, NULL,
    "topic filters to subscribe, comma-separated ($share/GROUP/... allowed)")
KEY(MQTT_QOS, CT_INT, "1", ST_MQTT, 0, 0, 2, NULL,
    "QoS of subscriptions and publishes")
KEY(MQTT_CLIENT_ID, CT_STRING, "sensorpipe-{prog}-{hostname}", ST_MQTT, 0, 0, 0, NULL,
    "client id; keep it stable so the broker keeps the session")
KEY(MQTT_CLEAN_SESSION, CT_BOOL, "false", ST_MQTT, 0, 0, 0, NULL,
    "start a clean session (loses what the broker queued while down)")
KEY(MQTT_SESSION_EXPIRY, CT_DURATION, "24h", ST_MQTT, 0, 0, 4294967LL * S_, NULL,
    "MQTT 5 session expiry interval (how long the broker keeps the session)")
KEY(MQTT_USERNAME, CT_STRING, NULL, ST_MQTT, 0, 0, 0, NULL, "broker user name")
KEY(MQTT_PASSWORD, CT_STRING, NULL, ST_MQTT, CF_SECRET, 0, 0, NULL, "broker password")
KEY(MQTT_CA_FILE, CT_STRING, NULL, ST_MQTT, 0, 0, 0, NULL,
    "CA certificate (PEM) to verify the broker; ssl:// URLs")
KEY(MQTT_CERT_FILE, CT_STRING, NULL, ST_MQTT, 0, 0, 0, NULL, "client certificate (PEM)")
KEY(MQTT_KEY_FILE, CT_STRING, NULL, ST_MQTT, 0, 0, 0, NULL, "client private key (PEM)")
KEY(MQTT_VERSION, CT_ENUM, "3.1.1", ST_MQTT, 0, 0, 0, "3.1.1|5", "MQTT protocol version")
KEY(MQTT_KEEPALIVE, CT_DURATION, "30s", ST_MQTT, 0, 1 * S_, 65535 * S_, NULL,
    "keepalive interval")
KEY(MQTT_RECONNECT_MIN, CT_DURATION, "1s", ST_MQTT, 0, 100, H_, NULL,
    "first reconnect delay; doubles on each failure")
KEY(MQTT_RECONNECT_MAX, CT_DURATION, "16s", ST_MQTT, 0, 100, H_, NULL,
    "longest reconnect delay")
KEY(MQTT_MAX_RETRIES, CT_INT, "0", ST_MQTT, 0, 0, 1000000, NULL,
    "failed connects in a row before exiting 69; 0 retries forever")
KEY(MQTT_PERSISTENCE_DIR, CT_STRING, NULL, ST_MQTT, 0, 0, 0, NULL,
    "directory for the client's on-disk message store (unset: memory only)")

/* mqtt-ingest */
KEY(MQTT_TOPIC_TEMPLATE, CT_STRING, "sensors/{sensor_id}/{measurement}", ST_INGEST, 0, 0, 0, NULL,
    "topic levels to tags: {name} takes a level as tag, {measurement} names it, + skips, # ends")
KEY(MQTT_TAG_KEYS, CT_LIST, "sensor_id,site", ST_INGEST, 0, 0, 0, NULL,
    "payload keys that become tags instead of fields")
KEY(MQTT_TIME_KEY, CT_LIST, "ts,time,timestamp", ST_INGEST, 0, 0, 0, NULL,
    "payload keys holding the reading's time, first found wins")
KEY(MQTT_TIME_PRECISION, CT_ENUM, "auto", ST_INGEST, 0, 0, 0, "auto|s|ms|us|ns",
    "unit of numeric times; auto guesses from the magnitude")
KEY(MQTT_MAX_PAYLOAD, CT_SIZE, "256KiB", ST_INGEST, 0, 16, 256 * MIB_, NULL,
    "larger payloads are dead-lettered")
KEY(MQTT_DEFAULT_MEASUREMENT, CT_STRING, "sensor", ST_INGEST, 0, 0, 0, NULL,
    "measurement when neither the topic nor the payload names one")

/* mqtt-publish */
KEY(MQTT_PUBLISH_TOPIC, CT_STRING, "alerts/{tags.sensor_id}/{rule}", ST_PUBLISH, 0, 0, 0, NULL,
    "topic template filled from the record ({key}, {tags.NAME})")
KEY(MQTT_PUBLISH_FIELD, CT_STRING, NULL, ST_PUBLISH, 0, 0, 0, NULL,
    "publish only this key's value instead of the whole record")
KEY(MQTT_PUBLISH_RETAIN, CT_BOOL, "false", ST_PUBLISH, 0, 0, 0, NULL,
    "publish retained messages")
KEY(MQTT_PUBLISH_QUEUE_MAX, CT_INT, "100000", ST_PUBLISH, 0, 1, 10000000, NULL,
    "messages queued while the broker is away before reading stops")
KEY(MQTT_PUBLISH_INFLIGHT, CT_INT, "1000", ST_PUBLISH, 0, 1, 65535, NULL,
    "publishes awaiting the broker's acknowledgement while connected")
KEY(MQTT_PUBLISH_DRAIN_TIMEOUT, CT_DURATION, "5s", ST_PUBLISH, 0, 0, H_, NULL,
    "on SIGTERM, how long to keep sending queued messages before exiting")

/* InfluxDB: influx-sink writes, alert-api queries */
KEY(INFLUX_URL, CT_URL, "http://127.0.0.1:8086", ST_INFLUX, 0, 0, 0, "http|https",
    "InfluxDB (or line-protocol server) base URL")
KEY(INFLUX_API, CT_ENUM, "v1", ST_INFLUX, 0, 0, 0, "v1|v2",
    "v1: /write?db= (InfluxDB 1.x); v2: /api/v2/write?org=&bucket= (2.x, 3.x)")
KEY(INFLUX_DB, CT_STRING, "sensors", ST_INFLUX, 0, 0, 0, NULL, "database (v1)")
KEY(INFLUX_RP, CT_STRING, NULL, ST_INFLUX, 0, 0, 0, NULL, "retention policy (v1)")
KEY(INFLUX_USERNAME, CT_STRING, NULL, ST_INFLUX, 0, 0, 0, NULL, "user (v1)")
KEY(INFLUX_PASSWORD, CT_STRING, NULL, ST_INFLUX, CF_SECRET, 0, 0, NULL, "password (v1)")
KEY(INFLUX_TOKEN, CT_STRING, NULL, ST_INFLUX, CF_SECRET, 0, 0, NULL,
    "API token (v2; required in prod with INFLUX_API=v2)")
KEY(INFLUX_ORG, CT_STRING, NULL, ST_INFLUX, 0, 0, 0, NULL, "organization (v2)")
KEY(INFLUX_BUCKET, CT_STRING, NULL, ST_INFLUX, 0, 0, 0, NULL, "bucket (v2)")
KEY(INFLUX_TIMEOUT, CT_DURATION, "10s", ST_INFLUX, 0, 100, H_, NULL,
    "whole-request timeout (writes and queries)")
KEY(INFLUX_CONNECT_TIMEOUT, CT_DURATION, "5s", ST_INFLUX, 0, 100, H_, NULL,
    "connect timeout")
KEY(INFLUX_PRECISION, CT_ENUM, "ns", ST_SINK, 0, 0, 0, "ns|us|ms|s",
    "timestamp precision written")
KEY(INFLUX_BATCH_SIZE, CT_INT, "5000", ST_SINK, 0, 1, 1000000, NULL,
    "points per write request")
KEY(INFLUX_FLUSH_INTERVAL, CT_DURATION, "1s", ST_SINK, 0, 1, H_, NULL,
    "send a batch this long after its first point, full or not")
KEY(INFLUX_MAX_BUFFERED, CT_INT, "100000", ST_SINK, 0, 1, 100000000, NULL,
    "points held in memory before reading stops (backpressure)")
KEY(INFLUX_GZIP, CT_BOOL, "true", ST_SINK, 0, 0, 0, NULL, "gzip request bodies")
KEY(INFLUX_RETRY_MAX, CT_DURATION, "30s", ST_SINK, 0, 100, 24 * H_, NULL,
    "longest delay between retries of a failed write")
KEY(INFLUX_CREATE_DB, CT_BOOL, "true", ST_SINK, 0, 0, 0, NULL,
    "create the v1 database when it is missing")
KEY(INFLUX_CONCURRENCY, CT_INT, "1", ST_SINK, 0, 1, 16, NULL,
    "write requests in flight (a series always goes to the same writer)")

/* alert-engine */
KEY(ALERT_RULES_FILE, CT_STRING, "etc/rules.json", ST_ENGINE, 0, 0, 0, NULL, "rules (JSON)")
KEY(ALERT_STATE_FILE, CT_STRING, NULL, ST_ENGINE, 0, 0, 0, NULL,
    "save rule states here and restore them at start")
KEY(ALERT_STATE_INTERVAL, CT_DURATION, "5s", ST_ENGINE, 0, 100, H_, NULL,
    "how often the state file is saved")
KEY(ALERT_LATENESS, CT_DURATION, "5s", ST_ENGINE, 0, 0, H_, NULL,
    "readings older than this behind a series' newest are ignored")
KEY(ALERT_FLAP_COUNT, CT_INT, "5", ST_ENGINE, 0, 0, 1000, NULL,
    "episodes in ALERT_FLAP_WINDOW after which an alert is held firing; 0 off")
KEY(ALERT_FLAP_WINDOW, CT_DURATION, "10m", ST_ENGINE, 0, 1 * S_, 24 * H_, NULL,
    "window for flap detection")
KEY(OPENAI_API_KEY, CT_STRING, NULL, ST_ENGINE, CF_SECRET, 0, 0, NULL,
    "key for the chat completions API; summaries are off without it (unless OPENAI_BASE_URL is changed)")
KEY(OPENAI_BASE_URL, CT_URL, "https://api.openai.com/v1", ST_ENGINE, 0, 0, 0, "http|https",
    "OpenAI-compatible API base (Ollama, llama.cpp, ...)")
KEY(LLM_MODEL, CT_STRING, "gpt-4o-mini", ST_ENGINE, 0, 0, 0, NULL, "model name")
KEY(LLM_TIMEOUT, CT_DURATION, "3s", ST_ENGINE, 0, 100, 10 * 60 * S_, NULL,
    "a summary not back by then is dropped (the fallback stands)")
KEY(LLM_MAX_CONCURRENCY, CT_INT, "4", ST_ENGINE, 0, 1, 64, NULL, "requests in flight")
KEY(LLM_COOLDOWN, CT_DURATION, "60s", ST_ENGINE, 0, 1 * S_, 24 * H_, NULL,
    "pause after 5 failures in a row")

/* alert-api */
KEY(API_LISTEN, CT_HOSTPORT, "127.0.0.1:8080", ST_API, 0, 0, 0, NULL, "address:port to bind")
KEY(API_TOKEN, CT_STRING, NULL, ST_API, CF_SECRET, 0, 0, NULL,
    "bearer token required for POST (and reads with API_AUTH_READS)")
KEY(API_AUTH_READS, CT_BOOL, "false", ST_API, 0, 0, 0, NULL, "require the token for GET too")
KEY(API_ACK_FILE, CT_STRING, NULL, ST_API, 0, 0, 0, NULL,
    "acknowledgements log (NDJSON), replayed at start")
KEY(API_MAX_ALERTS, CT_INT, "100000", ST_API, 0, 1, 10000000, NULL, "alerts kept in memory")
KEY(API_MAX_CONNECTIONS, CT_INT, "1000", ST_API, 0, 1, 100000, NULL, "connections at once")
KEY(API_MAX_PER_IP, CT_INT, "0", ST_API, 0, 0, 100000, NULL,
    "connections from one address; 0 no limit")
KEY(API_CONN_TIMEOUT, CT_DURATION, "30s", ST_API, 0, 1 * S_, H_, NULL,
    "idle connection timeout (SSE streams send heartbeats)")
KEY(API_MAX_POINTS, CT_INT, "10000", ST_API, 0, 1, 1000000, NULL, "points per readings answer")
KEY(API_MAX_BODY, CT_SIZE, "16KiB", ST_API, 0, 64, 16 * MIB_, NULL, "largest request body")
KEY(API_STATE_FILE, CT_STRING, NULL, ST_API, 0, 0, 0, NULL,
    "with a journal input: save the alerts here with the input position, restore them at start, and commit the cursor")
KEY(API_STATE_INTERVAL, CT_DURATION, "5s", ST_API, 0, 100, H_, NULL,
    "how often the state file is saved when alerts changed")

/* journals (--in DIR / --out DIR) */
KEY(JOURNAL_SEGMENT_SIZE, CT_SIZE, "64MiB", ST_ALL, 0, 4 * KIB_, 16 * GIB_, NULL,
    "segment file size before rotation")
KEY(JOURNAL_FSYNC_INTERVAL, CT_DURATION, "1s", ST_ALL, 0, 0, H_, NULL,
    "fsync appended data at most this late; 0 fsyncs every batch")
KEY(JOURNAL_MAX_SIZE, CT_SIZE, "10GiB", ST_ALL, 0, 64 * KIB_, 1024 * GIB_, NULL,
    "oldest segments are dropped past this size (logged, counted)")
