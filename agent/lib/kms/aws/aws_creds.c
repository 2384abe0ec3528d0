// SPDX-License-Identifier: GPL-2.0
/* aurora: AWS credentials (see aws_creds.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kms/aws/aws_creds.h"

#define CRED_FILE_MAX	(1 << 20)

static struct aur_secret *secret_from(const char *s, size_t n, bool nul)
{
	struct aur_secret *x = aur_secret_alloc(n + (nul ? 1 : 0));

	if (!x)
		return NULL;
	memcpy(x->data, s, n);
	if (nul) {
		x->data[n] = 0;
		x->len = n;
	}
	return x;
}

void aur_aws_creds_clear(struct aur_aws_creds *c)
{
	if (!c)
		return;
	aur_secret_free(c->secret_key);
	aur_secret_free(c->session_token);
	explicit_bzero(c, sizeof(*c));
}

#define seterr(err, errlen, fmt, a) do { \
	if ((err) && (errlen)) \
		snprintf((err), (errlen), fmt, (a)); \
} while (0)

static int set_pair(struct aur_aws_creds *c, const char *ak, size_t akl,
		    const char *sk, size_t skl, const char *tok, size_t tokl)
{
	if (akl == 0 || akl >= sizeof(c->access_key) || skl == 0)
		return -EINVAL;
	memcpy(c->access_key, ak, akl);
	c->access_key[akl] = 0;
	c->secret_key = secret_from(sk, skl, false);
	if (!c->secret_key)
		return -ENOMEM;
	if (tok && tokl) {
		c->session_token = secret_from(tok, tokl, true);
		if (!c->session_token)
			return -ENOMEM;
	}
	return 0;
}

static const char *trim(char *s, char **end)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
			 e[-1] == '\n'))
		e--;
	*e = 0;
	*end = e;
	return s;
}

/* Read the whole file into locked memory (it holds secrets). */
static struct aur_secret *slurp(const char *path, int *errp)
{
	struct aur_secret *buf;
	struct stat stt;
	size_t got = 0;
	FILE *f = fopen(path, "re");

	if (!f) {
		*errp = -errno;
		return NULL;
	}
	setvbuf(f, NULL, _IONBF, 0);	/* no stdio copy of the contents */
	if (fstat(fileno(f), &stt) || !S_ISREG(stt.st_mode) ||
	    stt.st_size >= CRED_FILE_MAX) {
		fclose(f);
		*errp = -EINVAL;
		return NULL;
	}
	buf = aur_secret_alloc((size_t)stt.st_size + 1);
	if (!buf) {
		fclose(f);
		*errp = -ENOMEM;
		return NULL;
	}
	while (got < (size_t)stt.st_size) {
		size_t r = fread(buf->data + got, 1, (size_t)stt.st_size - got, f);

		if (r == 0)
			break;
		got += r;
	}
	fclose(f);
	buf->data[got] = 0;
	return buf;
}

/*
 * The static keys of @profile in @path: the shared credentials file
 * ([name]) or, @config, the shared config file ([profile name], [default]).
 */
static int load_file(struct aur_aws_creds *c, const char *path,
		     const char *profile, bool config, char *err, size_t errlen)
{
	struct aur_secret *buf;
	char *line, *next, *ak = NULL, *sk = NULL, *tok = NULL;
	bool in = false, found = false;
	int e = 0, ret;

	buf = slurp(path, &e);
	if (!buf) {
		seterr(err, errlen, e == -ENOENT ?
		       "no AWS credentials: %s not found" :
		       "cannot read AWS credentials file %s", path);
		return e == -ENOENT ? -ENOENT : e;
	}
	for (line = (char *)buf->data; line && *line; line = next) {
		char *end, *eq;
		const char *l;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		l = trim(line, &end);
		if (!*l || *l == '#' || *l == ';')
			continue;
		if (*l == '[') {
			char *r = strchr(l, ']'), *e2;
			const char *name;

			if (!r)
				continue;
			*r = 0;
			name = trim((char *)l + 1, &e2);
			/* "[profile x]" is the config-file spelling; accept it. */
			if (!strncmp(name, "profile ", 8) && strcmp(profile, name))
				name = trim((char *)name + 8, &e2);
			else if (config && strcmp(name, "default"))
				name = "";	/* [x] alone is not a profile in the config file */
			in = !strcmp(name, profile);
			found |= in;
			continue;
		}
		if (!in)
			continue;
		eq = strchr(l, '=');
		if (!eq)
			continue;
		*eq = 0;
		{
			char *ke, *ve;
			const char *k = trim((char *)l, &ke);
			char *v = (char *)trim(eq + 1, &ve);

			if (!strcmp(k, "aws_access_key_id"))
				ak = v;
			else if (!strcmp(k, "aws_secret_access_key"))
				sk = v;
			else if (!strcmp(k, "aws_session_token"))
				tok = v;
		}
	}
	if (!found || (config && !ak && !sk)) {
		/* A config-file profile without static keys: look further. */
		seterr(err, errlen, "no profile [%s] with keys in the AWS credentials or config file",
		       profile);
		ret = -ENOENT;
	} else if (!ak || !sk || !*ak || !*sk) {
		seterr(err, errlen, "profile [%s]: aws_access_key_id or "
		       "aws_secret_access_key missing", profile);
		ret = -EINVAL;
	} else {
		ret = set_pair(c, ak, strlen(ak), sk, strlen(sk), tok,
			       tok ? strlen(tok) : 0);
		if (ret == -EINVAL)
			seterr(err, errlen, "profile [%s]: bad access key id", profile);
		else if (ret)
			seterr(err, errlen, "cannot lock memory for the credentials%s", "");
		else
			snprintf(c->source, sizeof(c->source), "%s:%.100s",
				 config ? "config" : "file", profile);
	}
	aur_secret_free(buf);
	return ret;
}

/* ~/<rel>, or -ENOENT without HOME. */
static int home_path(char *path, size_t n, const char *rel)
{
	const char *home = getenv("HOME");

	if (!home || !home[0])
		return -ENOENT;
	return snprintf(path, n, "%s/%s", home, rel) >= (int)n ? -ENAMETOOLONG : 0;
}

int aur_aws_creds_load_static(struct aur_aws_creds *c, const char *profile,
			      const char *file, char *err, size_t errlen)
{
	const char *ak = getenv("AWS_ACCESS_KEY_ID");
	const char *sk = getenv("AWS_SECRET_ACCESS_KEY");
	const char *tok = getenv("AWS_SESSION_TOKEN");
	const char *cfile = getenv("AWS_CONFIG_FILE");
	char path[4096], cpath[4096];
	int ret;

	memset(c, 0, sizeof(*c));
	if (err && errlen)
		err[0] = 0;
	if (!(profile && profile[0]) && ak && ak[0] && sk && sk[0]) {
		ret = set_pair(c, ak, strlen(ak), sk, strlen(sk), tok,
			       tok ? strlen(tok) : 0);
		if (ret) {
			seterr(err, errlen, "AWS credentials from the environment: %s",
			       ret == -EINVAL ? "bad AWS_ACCESS_KEY_ID" :
			       "cannot lock memory");
			aur_aws_creds_clear(c);
			return ret;
		}
		snprintf(c->source, sizeof(c->source), "environment");
		return 0;
	}
	if (!(profile && profile[0]))
		profile = getenv("AWS_PROFILE");
	if (!(profile && profile[0]))
		profile = "default";
	if (!(file && file[0]))
		file = getenv("AWS_SHARED_CREDENTIALS_FILE");
	if (!(file && file[0]) && !home_path(path, sizeof(path), ".aws/credentials"))
		file = path;
	ret = file && file[0] ? load_file(c, file, profile, false, err, errlen) : -ENOENT;
	if (ret != -ENOENT)
		goto done;
	aur_aws_creds_clear(c);
	if (!(cfile && cfile[0]) && !home_path(cpath, sizeof(cpath), ".aws/config"))
		cfile = cpath;
	if (cfile && cfile[0]) {
		char e2[200] = "";

		ret = load_file(c, cfile, profile, true, e2, sizeof(e2));
		if (ret != -ENOENT)
			seterr(err, errlen, "%s", e2);
	}
	if (ret == -ENOENT)
		seterr(err, errlen, "no AWS credentials for profile [%s] in the environment or the shared files",
		       profile);
done:
	if (ret)
		aur_aws_creds_clear(c);
	return ret;
}

int aur_aws_creds_load(struct aur_aws_creds *c, const char *profile,
		       const char *file, char *err, size_t errlen)
{
	char e2[200] = "";
	int ret = aur_aws_creds_load_static(c, profile, file, err, errlen);

	/* An explicit profile is that profile, never the instance's role. */
	if (ret != -ENOENT || (profile && profile[0]))
		return ret;
	ret = aur_aws_imds_fetch(c, 1000, 3000, e2, sizeof(e2));
	if (ret)
		seterr(err, errlen, "no AWS credentials in the environment, the shared files or the instance metadata (%s)",
		       e2);
	return ret;
}

int aur_aws_creds_copy(struct aur_aws_creds *dst, const struct aur_aws_creds *src)
{
	memset(dst, 0, sizeof(*dst));
	memcpy(dst->access_key, src->access_key, sizeof(dst->access_key));
	memcpy(dst->source, src->source, sizeof(dst->source));
	dst->expiration = src->expiration;
	if (src->secret_key) {
		dst->secret_key = aur_secret_alloc(src->secret_key->len);
		if (!dst->secret_key)
			return -ENOMEM;
		memcpy(dst->secret_key->data, src->secret_key->data, src->secret_key->len);
	}
	if (src->session_token) {
		dst->session_token = aur_secret_alloc(src->session_token->len + 1);
		if (!dst->session_token) {
			aur_aws_creds_clear(dst);
			return -ENOMEM;
		}
		memcpy(dst->session_token->data, src->session_token->data,
		       src->session_token->len + 1);
		dst->session_token->len = src->session_token->len;
	}
	return 0;
}
