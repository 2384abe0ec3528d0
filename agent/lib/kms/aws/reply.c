// SPDX-License-Identifier: GPL-2.0
/*
 * aurora: the AWS KMS provider's reading of replies: error classification,
 * DescribeKey metadata, Plaintext into locked memory, blobs (see kms_aws.h).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <json-c/printbuf.h>

#include "kms/arn.h"
#include "kms/aws/kms_aws.h"

#define AWS_JSON_DEPTH	16

/* Printable ASCII only: a server's message goes to logs. */
static void sanitize(char *dst, size_t dlen, const char *src, size_t slen)
{
	size_t i;

	if (!dlen)
		return;
	for (i = 0; i < slen && i + 1 < dlen; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	dst[i] = 0;
}

static bool type_is_transient(enum aur_kms_err e)
{
	return e == AUR_KMS_E_THROTTLED || e == AUR_KMS_E_UNAVAILABLE;
}

/*
 * The text of the first <@tag>...</@tag> of an XML error body (the form
 * S3-style front ends and IAM layers answer in:
 * <Error><Code>SignatureDoesNotMatch</Code><Message>...</Message></Error>),
 * sanitised into @dst; false when there is none.
 */
static bool xml_member(const char *body, size_t len, const char *tag, char *dst, size_t dlen)
{
	char open[32], close[32];
	size_t ol, cl, i;

	ol = (size_t)snprintf(open, sizeof(open), "<%s>", tag);
	cl = (size_t)snprintf(close, sizeof(close), "</%s>", tag);
	for (i = 0; i + ol <= len; i++) {
		size_t j;

		if (memcmp(body + i, open, ol))
			continue;
		for (j = i + ol; j + cl <= len; j++)
			if (!memcmp(body + j, close, cl)) {
				sanitize(dst, dlen, body + i + ol, j - i - ol);
				return dst[0] != 0;
			}
		return false;
	}
	return false;
}

static bool looks_xml(const char *body, size_t len)
{
	size_t i = 0;

	while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t'))
		i++;
	return i < len && body[i] == '<';
}

enum aur_kms_err aur_kms_aws_parse_reply(const char *op, long http_status,
					 const char *error_type,
					 const char *body, size_t len,
					 struct json_object **json,
					 struct aur_kms_status *st)
{
	struct json_tokener *tok;
	struct json_object *o = NULL, *v;
	enum json_tokener_error jerr;
	enum aur_kms_err code;
	char type[128] = "", msg[160] = "";
	const char *bare;
	bool parsed = false, json_type;
	size_t end;

	*json = NULL;
	if (!op)
		op = "KMS";
	if (len > INT_MAX)
		return aur_kms_fail(st, AUR_KMS_E_PROTOCOL, http_status, "reply too large");
	tok = json_tokener_new_ex(AWS_JSON_DEPTH);
	if (!tok)
		return aur_kms_fail(st, AUR_KMS_E_INTERNAL, http_status, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	if (len)
		o = json_tokener_parse_ex(tok, body, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	/* The parser's scratch buffer held the strings, Plaintext included. */
	if (tok->pb && tok->pb->buf)
		explicit_bzero(tok->pb->buf, (size_t)tok->pb->size);
	json_tokener_free(tok);
	if (o && jerr == json_tokener_success) {
		while (end < len && (body[end] == ' ' || body[end] == '\n' ||
				     body[end] == '\r' || body[end] == '\t'))
			end++;
		parsed = end == len && json_object_is_type(o, json_type_object);
	}
	if (!parsed && o) {
		json_object_put(o);
		o = NULL;
	}

	if (http_status >= 200 && http_status < 300) {
		if (!parsed)
			return aur_kms_fail(st, AUR_KMS_E_PROTOCOL, http_status,
				    "%s reply (HTTP %ld, %zu bytes)",
				    len == 0 ? "empty" :
				    jerr == json_tokener_continue ? "truncated JSON" :
				    "malformed JSON", http_status, len);
		*json = o;
		aur_kms_ok(st);
		if (st)
			st->http_status = (int)http_status;
		return AUR_KMS_OK;
	}

	/* An error reply: the type from the body, else from the header. */
	if (parsed) {
		if (json_object_object_get_ex(o, "__type", &v) &&
		    json_object_is_type(v, json_type_string))
			sanitize(type, sizeof(type), json_object_get_string(v),
				 (size_t)json_object_get_string_len(v));
		if ((json_object_object_get_ex(o, "message", &v) ||
		     json_object_object_get_ex(o, "Message", &v)) &&
		    json_object_is_type(v, json_type_string))
			sanitize(msg, sizeof(msg), json_object_get_string(v),
				 (size_t)json_object_get_string_len(v));
		json_object_put(o);
	}
	json_type = type[0] != 0;
	if (!type[0] && !parsed && looks_xml(body, len)) {
		xml_member(body, len, "Code", type, sizeof(type));
		xml_member(body, len, "Message", msg, sizeof(msg));
	}
	if (!type[0] && error_type && error_type[0])	/* "Type:http://..." */
		sanitize(type, sizeof(type), error_type, strcspn(error_type, ":"));

	/*
	 * Refused credentials: an authentication error type, or any 401/403
	 * that is not a KMS JSON error (an XML denial from a front end, an
	 * empty or HTML body).  That is about the caller's credentials, never
	 * about the CMK: not definitive, never a verdict.
	 */
	if ((type[0] && aur_kms_err_from_type(type) == AUR_KMS_E_CREDENTIALS) ||
	    (!json_type && (http_status == 401 || http_status == 403)))
		return aur_kms_fail(st, AUR_KMS_E_CREDENTIALS, http_status,
				    "credentials refused (%.64s%s%.72s, HTTP %ld), not an answer about the CMK",
				    type[0] ? type : "no error type", msg[0] ? ": " : "", msg,
				    http_status);

	if (type[0]) {
		code = aur_kms_err_from_type(type);
		if (code == AUR_KMS_OK)
			code = AUR_KMS_E_PROTOCOL;
	} else if (http_status == 429) {
		code = AUR_KMS_E_THROTTLED;
	} else if (http_status >= 500) {
		code = AUR_KMS_E_UNAVAILABLE;
	} else {
		code = AUR_KMS_E_PROTOCOL;
	}
	/* A server error is never a definitive answer about the key. */
	if (http_status >= 500 && !type_is_transient(code))
		code = AUR_KMS_E_UNAVAILABLE;
	if (http_status == 429)
		code = AUR_KMS_E_THROTTLED;
	if (!type[0] && code == AUR_KMS_E_PROTOCOL)
		return aur_kms_fail(st, code, http_status, "HTTP %ld without an error type%s",
				    http_status, parsed ? "" : " (body not JSON)");
	/* The error's name is prefixed by the caller: name the type only when it differs. */
	bare = strrchr(type, '#') ? strrchr(type, '#') + 1 : type;
	if (!type[0] || !strcmp(bare, aur_kms_err_name(code)))
		return aur_kms_fail(st, code, http_status, "%s%sHTTP %ld%s", msg,
				    msg[0] ? " (" : "", http_status, msg[0] ? ")" : "");
	return aur_kms_fail(st, code, http_status, "%s%s%s (HTTP %ld)", type,
			    msg[0] ? ": " : "", msg, http_status);
}

static bool get_str(struct json_object *o, const char *k, const char **s, size_t *n)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_string))
		return false;
	*s = json_object_get_string(v);
	*n = (size_t)json_object_get_string_len(v);
	return true;
}

static bool copy_member(struct json_object *o, const char *k, char *dst, size_t dlen)
{
	const char *s;
	size_t n;

	if (!get_str(o, k, &s, &n) || n >= dlen || memchr(s, 0, n))
		return false;
	memcpy(dst, s, n);
	dst[n] = 0;
	return true;
}

/* Seconds since the epoch: JSON 1.1 sends numbers; accept numeric strings. */
static bool get_time(struct json_object *o, const char *k, int64_t *t)
{
	struct json_object *v;
	double d;

	if (!json_object_object_get_ex(o, k, &v))
		return false;
	switch (json_object_get_type(v)) {
	case json_type_int:
		*t = json_object_get_int64(v);
		return true;
	case json_type_double:
		d = json_object_get_double(v);
		break;
	case json_type_string: {
		char *end;
		const char *s = json_object_get_string(v);

		d = strtod(s, &end);
		if (end == s || *end)
			return false;
		break;
	}
	default:
		return false;
	}
	if (!isfinite(d) || d < -9.2e18 || d > 9.2e18)
		return false;
	*t = (int64_t)d;
	return true;
}

int aur_kms_aws_parse_arn(const char *arn, char *region, size_t rlen,
			  char *account, size_t alen)
{
	struct aur_arn a;

	if (aur_arn_parse(arn, &a) != AUR_ARN_OK || strlen(a.region) >= rlen ||
	    strlen(a.account) >= alen)
		return -EINVAL;
	memcpy(region, a.region, strlen(a.region) + 1);
	memcpy(account, a.account, strlen(a.account) + 1);
	return 0;
}

enum aur_kms_err aur_kms_aws_parse_key_metadata(struct json_object *reply,
						struct aur_kms_key_info *info,
						struct aur_kms_status *st)
{
	struct json_object *md, *v;
	char state[64];

	memset(info, 0, sizeof(*info));
	if (!json_object_object_get_ex(reply, "KeyMetadata", &md) ||
	    !json_object_is_type(md, json_type_object))
		return aur_kms_fail(st, AUR_KMS_E_PROTOCOL, 200, "no KeyMetadata");
	if (!copy_member(md, "KeyId", info->key_id, sizeof(info->key_id)) ||
	    !copy_member(md, "Arn", info->arn, sizeof(info->arn)))
		return aur_kms_fail(st, AUR_KMS_E_PROTOCOL, 200,
			    "KeyId or Arn missing or too long");
	if (aur_kms_aws_parse_arn(info->arn, info->region, sizeof(info->region),
				  info->account, sizeof(info->account)) &&
	    !copy_member(md, "AWSAccountId", info->account, sizeof(info->account)))
		return aur_kms_fail(st, AUR_KMS_E_PROTOCOL, 200, "malformed Arn");
	if (!copy_member(md, "KeyState", state, sizeof(state)))
		return aur_kms_fail(st, AUR_KMS_E_PROTOCOL, 200, "no KeyState");
	info->state = aur_key_state_from_name(state);
	if (!json_object_object_get_ex(md, "Enabled", &v) ||
	    !json_object_is_type(v, json_type_boolean))
		return aur_kms_fail(st, AUR_KMS_E_PROTOCOL, 200, "no Enabled");
	info->enabled = json_object_get_boolean(v);
	if (json_object_object_get_ex(md, "CreationDate", &v) &&
	    !get_time(md, "CreationDate", &info->creation_date))
		return aur_kms_fail(st, AUR_KMS_E_PROTOCOL, 200, "bad CreationDate");
	if (json_object_object_get_ex(md, "DeletionDate", &v) &&
	    !json_object_is_type(v, json_type_null) &&
	    !get_time(md, "DeletionDate", &info->deletion_date))
		return aur_kms_fail(st, AUR_KMS_E_PROTOCOL, 200, "bad DeletionDate");
	{
		const char *s;
		size_t n;

		if (get_str(md, "Description", &s, &n))
			sanitize(info->description, sizeof(info->description), s, n);
	}
	aur_kms_ok(st);
	return AUR_KMS_OK;
}

enum aur_kms_err aur_kms_aws_take_plaintext(struct json_object *reply, size_t want,
					    struct aur_secret **out,
					    struct aur_kms_status *st)
{
	const char *s;
	size_t n;
	long dl;
	struct aur_secret *sec;

	*out = NULL;
	if (!get_str(reply, "Plaintext", &s, &n))
		return aur_kms_fail(st, AUR_KMS_E_PROTOCOL, 200, "no Plaintext in the reply");
	dl = aur_b64_decoded_len(s, n);
	if (dl <= 0 || (want && (size_t)dl != want)) {
		explicit_bzero((char *)s, n);
		return aur_kms_fail(st, AUR_KMS_E_PROTOCOL, 200,
			    "Plaintext: bad base64 or length (want %zu)", want);
	}
	sec = aur_secret_alloc((size_t)dl);
	if (!sec) {
		explicit_bzero((char *)s, n);
		return aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "cannot lock memory for a key");
	}
	if (aur_b64_decode(s, n, sec->data, sec->len) != dl) {
		explicit_bzero((char *)s, n);
		aur_secret_free(sec);
		return aur_kms_fail(st, AUR_KMS_E_PROTOCOL, 200, "Plaintext: bad base64");
	}
	/* The JSON string that carried the key: wiped in place. */
	explicit_bzero((char *)s, n);
	*out = sec;
	aur_kms_ok(st);
	return AUR_KMS_OK;
}

enum aur_kms_err aur_kms_aws_take_blob(struct json_object *reply, const char *name,
				       struct aur_blob *blob,
				       struct aur_kms_status *st)
{
	const char *s;
	size_t n;
	long dl;

	blob->len = 0;
	if (!get_str(reply, name, &s, &n))
		return aur_kms_fail(st, AUR_KMS_E_PROTOCOL, 200, "no %s in the reply", name);
	dl = aur_b64_decode(s, n, blob->data, sizeof(blob->data));
	if (dl <= 0)
		return aur_kms_fail(st, AUR_KMS_E_PROTOCOL, 200,
			    "%s: bad base64 or over %d bytes", name, AUR_BLOB_MAX);
	blob->len = (size_t)dl;
	aur_kms_ok(st);
	return AUR_KMS_OK;
}

void aur_kms_aws_take_arn(struct json_object *reply, const char *name, char *dst)
{
	if (dst && !copy_member(reply, name, dst, AUR_ARN_MAX))
		dst[0] = 0;
}
