/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aurora: the AWS KMS provider (JSON 1.1 over HTTPS, Signature Version 4).
 *
 * Speaks AWS KMS's own wire protocol (POST /, X-Amz-Target:
 * TrentService.<Operation>, Content-Type: application/x-amz-json-1.1), so the
 * same agent works against AWS KMS and any compatible endpoint.  See
 * Documentation/aws-kms.md.
 *
 * Error classification (the watching agent's transient/definitive decision
 * rests on it):
 *  - a __type (with or without "namespace#", or x-amzn-ErrorType) is mapped
 *    by aur_kms_err_from_type();
 *  - HTTP 5xx is never definitive: AUR_KMS_E_UNAVAILABLE unless the type
 *    says throttled; 429 is AUR_KMS_E_THROTTLED;
 *  - a non-2xx reply without a type, a malformed or truncated body, a body
 *    over the size bound: AUR_KMS_E_PROTOCOL (transient, not retried);
 *  - network errors and timeouts: AUR_KMS_E_UNAVAILABLE.
 * Retried with jittered exponential backoff, bounded in count and time:
 * AUR_KMS_E_THROTTLED and AUR_KMS_E_UNAVAILABLE (ThrottlingException,
 * DependencyTimeoutException, KMSInternalException, 5xx, network errors),
 * except an untrusted TLS certificate (configuration).  Definitive answers
 * (DisabledException, KMSInvalidStateException, NotFoundException,
 * AccessDeniedException, IncorrectKeyException, InvalidCiphertextException)
 * are never retried.
 */
#ifndef AURORA_KMS_AWS_H
#define AURORA_KMS_AWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kms/kms.h"
#include "util/base64.h"

struct aur_kms_aws_config {
	char region[AUR_REGION_MAX];	/* "": AWS_REGION, AWS_DEFAULT_REGION */
	char endpoint[512];		/* "": AWS_ENDPOINT_URL_KMS,
					 * AWS_ENDPOINT_URL, else
					 * https://kms.<region>.amazonaws.com/ */
	char ca_bundle[512];		/* "": AWS_CA_BUNDLE, else system */
	char profile[128];		/* "": environment, then AWS_PROFILE */
	char credentials_file[512];	/* "": AWS_SHARED_CREDENTIALS_FILE */
	char account[AUR_ACCOUNT_MAX];	/* caller's account, if known */
	char proxy[256];		/* "": no proxy */
	long connect_timeout_ms;	/* per attempt; default 3000 */
	long timeout_ms;		/* per attempt, whole exchange; 10000 */
	unsigned int max_attempts;	/* including the first; default 5 */
	long retry_base_ms;		/* first backoff; default 100 */
	long retry_max_delay_ms;	/* one backoff at most; default 5000 */
	long retry_budget_ms;		/* all attempts and waits; 30000 */
	size_t max_response;		/* reply size bound; 64 KiB */
};

/* Defaults, as above. */
void aur_kms_aws_config_init(struct aur_kms_aws_config *cfg);

/*
 * Set one option by name, for configuration files and the CLI:
 * region, endpoint_url (or endpoint), ca_bundle, profile,
 * credentials_file, account, proxy, connect_timeout_ms, timeout_ms,
 * max_attempts, retry_base_ms, retry_max_delay_ms, retry_budget_ms,
 * max_response.  Returns 0, -ENOENT for an unknown name, -EINVAL for a bad
 * value.
 */
int aur_kms_aws_config_set(struct aur_kms_aws_config *cfg, const char *name,
			   const char *value);

/*
 * Create the provider: resolves region and endpoint, loads the credentials
 * (see aws_creds.h), sets up the HTTP client.  Makes no request.  On
 * failure returns the kind and fills @st (may be NULL).
 */
enum aur_kms_err aur_kms_aws_create(struct aur_kms **out,
				    const struct aur_kms_aws_config *cfg,
				    struct aur_kms_status *st);

/*
 * The entry point config.c's aur_kms_open() calls for `provider = aws`
 * (declared weak in config.h): region, account, endpoint, ca_bundle,
 * profile, connect_timeout and timeout (seconds) from /etc/aurora/aurora.conf,
 * everything else at its default.  Returns 0 or a negative errno, with @st
 * filled.
 */
struct aur_config;
int aur_kms_aws_new(const struct aur_config *cfg, struct aur_kms **out,
		    struct aur_kms_status *st);

/* How many HTTP attempts the last call made (for tests and logs). */
unsigned int aur_kms_aws_last_attempts(const struct aur_kms *kms);

/* The endpoint URL in use. */
const char *aur_kms_aws_endpoint(const struct aur_kms *kms);

/* ---- exposed for unit tests and the fuzzer ---------------------------- */

struct json_object;

/*
 * Classify one HTTP reply.  @body (NUL-terminated at @len) is parsed in
 * place and the parser's copy of it wiped.  On AUR_KMS_OK, *@json holds the
 * reply object (json_object_put it).  @error_type: the x-amzn-ErrorType
 * header or NULL.  @op: the operation; it is not put into the message
 * (aur_error_from_kms() prefixes operation and error name once).
 */
enum aur_kms_err aur_kms_aws_parse_reply(const char *op, long http_status,
					 const char *error_type,
					 const char *body, size_t len,
					 struct json_object **json,
					 struct aur_kms_status *st);

/* Fill @info from a DescribeKey reply. */
enum aur_kms_err aur_kms_aws_parse_key_metadata(struct json_object *reply,
						struct aur_kms_key_info *info,
						struct aur_kms_status *st);

/*
 * Decode the base64 "Plaintext" member straight into locked memory, then
 * wipe the JSON string that carried it.  @want: expected length, 0 = any.
 */
enum aur_kms_err aur_kms_aws_take_plaintext(struct json_object *reply, size_t want,
					    struct aur_secret **out,
					    struct aur_kms_status *st);

/* Copy string member @name (an ARN) into @dst (AUR_ARN_MAX); "" when absent. */
void aur_kms_aws_take_arn(struct json_object *reply, const char *name, char *dst);

/* Decode base64 member @name into @blob. */
enum aur_kms_err aur_kms_aws_take_blob(struct json_object *reply, const char *name,
				       struct aur_blob *blob,
				       struct aur_kms_status *st);

/* "arn:aws:kms:<region>:<account>:key/<id>" -> region, account. */
int aur_kms_aws_parse_arn(const char *arn, char *region, size_t rlen,
			  char *account, size_t alen);

/*
 * Where a request for @key_id goes: the region of its ARN (a key id or alias
 * name without an ARN: @default_region) into @region, and the endpoint:
 * @fixed_endpoint when configured (tests, VPC endpoints: kept for every
 * region, still signed with the ARN's region), else
 * https://kms.<region>.<domain of the ARN's partition>/.  Returns 0,
 * -EINVAL for a malformed ARN, -ENOENT for an unknown partition.
 */
int aur_kms_aws_route(const char *default_region, const char *fixed_endpoint,
		      const char *key_id, char *region, size_t rlen,
		      char *endpoint, size_t elen);

/* Backoff before attempt @attempt+1 (attempt >= 1), jittered, in ms. */
long aur_kms_aws_backoff_ms(const struct aur_kms_aws_config *cfg,
			    unsigned int attempt, uint32_t rnd);

#endif /* AURORA_KMS_AWS_H */
