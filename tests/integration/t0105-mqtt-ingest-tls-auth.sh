#!/bin/sh
# mqtt-ingest over TLS (server verified against a CA, client certificate)
# with a user name and password, MQTT 3.1.1 and 5, against a mosquitto that
# requires all of it. A throwaway CA and certificates are made here in $TMP
# (no key is ever committed). A wrong password exits 78 at once with a clear
# message (no retry loop), for 3.1.1 (CONNACK 5) and 5 (reason 0x86/0x87);
# a server certificate from an unknown CA is a connection failure that is
# retried (MQTT_MAX_RETRIES=2: exit 69) and names the TLS problem.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

P=$TMP/pki
mkdir -p "$P"
mkcert() {	# mkcert NAME CN SAN CA_NAME
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -keyout "$P/$1.key" -out "$P/$1.csr" -subj "/CN=$2" \
		2>/dev/null
	printf 'subjectAltName=%s\n' "$3" >"$P/$1.ext"
	openssl x509 -req -in "$P/$1.csr" -CA "$P/$4.crt" -CAkey "$P/$4.key" \
		-CAcreateserial -out "$P/$1.crt" -days 1 -extfile "$P/$1.ext" \
		2>/dev/null
}
for ca in ca otherca; do
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -keyout "$P/$ca.key" -out "$P/$ca.crt" -days 1 \
		-subj "/CN=sensorpipe test $ca" 2>/dev/null
done
mkcert server 127.0.0.1 IP:127.0.0.1 ca
mkcert client sp-t0105 DNS:sp-t0105 ca
chmod 644 "$P"/*
mosquitto_passwd -c -b "$TMP/passwd" ingest 's3cret pass' 2>/dev/null
chmod 644 "$TMP/passwd"

start_mosquitto "cafile $P/ca.crt" "certfile $P/server.crt" \
	"keyfile $P/server.key" "require_certificate true" \
	"allow_anonymous false" "password_file $TMP/passwd"
URL=ssl://127.0.0.1:$MQTT_PORT
export MQTT_URL="$URL" MQTT_TOPICS='sensors/#' MQTT_CA_FILE="$P/ca.crt" \
	MQTT_CERT_FILE="$P/client.crt" MQTT_KEY_FILE="$P/client.key" \
	MQTT_USERNAME=ingest MQTT_PASSWORD='s3cret pass' \
	MQTT_RECONNECT_MIN=250ms MQTT_TOPIC_TEMPLATE='sensors/{sensor_id}/{measurement}'

pub() {
	mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" --cafile "$P/ca.crt" \
		--cert "$P/client.crt" --key "$P/client.key" -u ingest \
		-P 's3cret pass' -q 1 "$@"
}

for v in 3.1.1 5; do
	spawn "$SP_BIN/mqtt-ingest" --mqtt-version "$v" \
		--mqtt-client-id "sp-t0105-$v" >"$TMP/out-$v" 2>"$TMP/err-$v"
	ing=$LAST_PID
	wait_for 10 grep -q 'subscribed' "$TMP/err-$v"
	grep -q "version=$v" "$TMP/err-$v" || fail "not connected with MQTT $v"
	pub -t sensors/s-1/env -m "{\"ts\":1795665600,\"v\":\"$v\"}"
	wait_lines "$TMP/out-$v" 1 10
	assert_eq "{\"time\":\"2026-11-26T04:00:00Z\",\"measurement\":\"env\",\"tags\":{\"sensor_id\":\"s-1\"},\"fields\":{\"v\":\"$v\"}}" \
		"$(cat "$TMP/out-$v")" "reading over TLS with MQTT $v"
	stop_pid "$ing" 5
	assert_eq 0 "$LAST_STATUS" "exit status after SIGTERM (MQTT $v)"
	if grep -q "s3cret" "$TMP/err-$v"; then
		fail "the password appears in the log"
	fi
done

# a wrong password: exit 78 after one attempt, clear message
for v in 3.1.1 5; do
	st=0
	start=$(date +%s)
	"$SP_BIN/mqtt-ingest" --mqtt-version "$v" --mqtt-client-id sp-t0105-bad \
		--mqtt-password wrong >"$TMP/outbad" 2>"$TMP/errbad-$v" || st=$?
	assert_eq 78 "$st" "exit status with a wrong password (MQTT $v)"
	[ $(($(date +%s) - start)) -le 5 ] || fail "took too long to give up"
	grep -q "refused the credentials of user 'ingest'" "$TMP/errbad-$v" ||
		fail "unclear message: $(cat "$TMP/errbad-$v")"
	if grep -q 'cannot connect to' "$TMP/errbad-$v"; then
		fail "a wrong password was retried"
	fi
	note "MQTT $v: $(grep error "$TMP/errbad-$v")"
done

# a server certificate the CA did not sign: retried, then exit 69
st=0
"$SP_BIN/mqtt-ingest" --mqtt-ca-file "$P/otherca.crt" --mqtt-max-retries 2 \
	--mqtt-client-id sp-t0105-ca >"$TMP/outca" 2>"$TMP/errca" || st=$?
assert_eq 69 "$st" "exit status with an unknown server CA"
grep -q 'attempt=1 ' "$TMP/errca" || fail "no retry logged"
note "$(grep "attempt=1 " "$TMP/errca")"
grep -qi 'certificate verify failed\|TLS' "$TMP/errca" ||
	fail "the TLS cause is not named: $(cat "$TMP/errca")"
