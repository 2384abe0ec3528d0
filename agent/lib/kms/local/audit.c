// SPDX-License-Identifier: GPL-2.0
/* aurora: audit records (see audit.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "kms/local/audit.h"
#include "util/util.h"

static struct json_object *ctx_json(const struct aur_enc_ctx *ctx)
{
	struct json_object *o = json_object_new_object();
	size_t i;

	for (i = 0; o && ctx && i < ctx->n && i < AUR_ENC_CTX_MAX; i++)
		json_object_object_add(o, ctx->kv[i].key,
				       json_object_new_string(ctx->kv[i].value));
	return o;
}

static void add_str(struct json_object *o, const char *k, const char *v)
{
	if (v && *v)
		json_object_object_add(o, k, json_object_new_string(v));
}

int aur_audit_append(const char *path, const struct aur_audit_rec *rec, int64_t now)
{
	struct json_object *o = json_object_new_object();
	char ts[32], *line;
	const char *s;
	size_t len;
	int fd, r = 0;
	ssize_t n;

	if (!o)
		return -ENOMEM;
	aur_time_iso(now, ts);
	add_str(o, "eventTime", ts);
	add_str(o, "eventSource", "aurora-kms-local");
	add_str(o, "eventName", rec->operation);
	add_str(o, "callerAccount", rec->caller_account);
	add_str(o, "region", rec->region);
	add_str(o, "requestKeyId", rec->request_key_id);
	add_str(o, "keyArn", rec->key_arn);
	if (rec->ctx)
		json_object_object_add(o, "encryptionContext", ctx_json(rec->ctx));
	add_str(o, "destinationKeyArn", rec->dst_key_arn);
	if (rec->dst_ctx)
		json_object_object_add(o, "destinationEncryptionContext", ctx_json(rec->dst_ctx));
	add_str(o, "detail", rec->detail);
	json_object_object_add(o, "outcome",
			       json_object_new_string(rec->result == AUR_KMS_OK ? "Success" : "Failure"));
	if (rec->result != AUR_KMS_OK) {
		add_str(o, "errorCode", aur_kms_err_name(rec->result));
		add_str(o, "errorMessage", rec->message);
	}
	json_object_object_add(o, "pid", json_object_new_int((int)getpid()));

	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	len = strlen(s);
	line = malloc(len + 2);
	if (!line) {
		json_object_put(o);
		return -ENOMEM;
	}
	memcpy(line, s, len);
	line[len++] = '\n';
	json_object_put(o);

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = -errno;
	} else {
		n = write(fd, line, len);
		if (n < 0)
			r = -errno;
		else if ((size_t)n != len)
			r = -EIO;
		if (close(fd) != 0 && !r)
			r = -errno;
	}
	free(line);
	return r;
}
