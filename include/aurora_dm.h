/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Definitions shared by the dm-aurora device-mapper target (kernel/) and the
 * aurora userspace agent (agent/).  Plain C: no kernel or libc includes, so
 * that both sides can include it.
 *
 * Table line (see Documentation/dm-aurora.rst):
 *   <start> <len> aurora aes-xts-plain64 :64:logon:<desc> <iv_offset>
 *         <device> <offset> [<#opt_params> <opt_params>...]
 *
 * Status INFO line (STATUSTYPE_INFO, `dmsetup status`), after the usual
 * "<start> <len> aurora" prefix:
 *   active key:loaded|key:wiped reads:<n> writes:<n> terminal_eio:<n>
 *   inaccessible <reason> key:wiped|key:loaded reads:<n> writes:<n>
 *          terminal_eio:<n>
 *   terminal <reason> key:wiped reads:<n> writes:<n> terminal_eio:<n>
 * (inaccessible with key:loaded: a key set awaits the resume that recovers)
 */
#ifndef AURORA_DM_H
#define AURORA_DM_H

/* Target name as registered with device-mapper. */
#define AURORA_DM_TARGET_NAME		"aurora"
/* Target version; bumped on every table, status or message syntax or meaning change. */
#define AURORA_DM_VERSION_MAJOR		1
#define AURORA_DM_VERSION_MINOR		8
#define AURORA_DM_VERSION_PATCH		1

/* The only cipher specification accepted. */
#define AURORA_DM_CIPHER		"aes-xts-plain64"
/* Key size in bytes: two AES-256 keys for XTS. */
#define AURORA_DM_KEY_SIZE		64
/* Kernel keyring key type holding the data key. */
#define AURORA_DM_KEY_TYPE		"logon"
/* A key reference in the table is this prefix followed by the description. */
#define AURORA_DM_KEY_REF_PREFIX	":64:logon:"
/*
 * Convention for descriptions of keys loaded by the agent: a logon key
 * description needs a "<subtype>:" prefix; the agent uses
 * "aurora:<volume-uuid>".  The target accepts any logon description.
 */
#define AURORA_DM_KEY_DESC_PREFIX	"aurora:"

/* Optional table parameters. */
#define AURORA_DM_OPT_SECTOR_SIZE	"sector_size:"
#define AURORA_DM_OPT_IV_LARGE_SECTORS	"iv_large_sectors"
#define AURORA_DM_OPT_ALLOW_DISCARDS	"allow_discards"
#define AURORA_DM_OPT_NO_READ_INLINE	"no_read_inline"
#define AURORA_DM_OPT_WRITE_WORKQUEUE	"write_workqueue"

/* Status INFO keywords. */
#define AURORA_DM_STATE_ACTIVE		"active"
#define AURORA_DM_STATE_INACCESSIBLE	"inaccessible"
#define AURORA_DM_STATE_TERMINAL	"terminal"
#define AURORA_DM_STATUS_KEY_LOADED	"key:loaded"
#define AURORA_DM_STATUS_KEY_WIPED	"key:wiped"
#define AURORA_DM_STATUS_READS		"reads:"
#define AURORA_DM_STATUS_WRITES		"writes:"
#define AURORA_DM_STATUS_TERMINAL_EIO	"terminal_eio:"

/* Reasons set by the target itself (inaccessible: the keyring key went away). */
#define AURORA_DM_REASON_REVOKED	"key-revoked"
#define AURORA_DM_REASON_INVALIDATED	"key-invalidated"
#define AURORA_DM_REASON_EXPIRED	"key-expired"
/*
 * Reasons given with the "terminal" and "inaccessible" messages are
 * sanitized: characters other than [A-Za-z0-9._:-] become '_', and they are
 * cut to AURORA_DM_REASON_MAX - 1 characters.
 */
#define AURORA_DM_REASON_MAX		64

/* Messages (`dmsetup message <dev> 0 <words...>`). */
#define AURORA_DM_MSG_INACCESSIBLE	"inaccessible"	/* inaccessible <reason> */
#define AURORA_DM_MSG_TERMINAL		"terminal"	/* terminal <reason> */
#define AURORA_DM_MSG_KEY		"key"		/* key wipe | key set <ref> */
#define AURORA_DM_MSG_KEY_WIPE		"wipe"
#define AURORA_DM_MSG_KEY_SET		"set"

#endif /* AURORA_DM_H */
