/* data_args.h: the data flags every command shares (--task, --data-dir,
 * --train/--valid/--test, --text-col, --text-pair-col, --label-col,
 * --train-fraction, --skip-bad-rows) as the library's data specification
 * (data/data_spec.h). Also the one download function of `pifi data`
 * (cmd_data_fetch.c, libcurl). */
#ifndef PIFI_CLI_DATA_ARGS_H
#define PIFI_CLI_DATA_ARGS_H

#include <cjson/cJSON.h>

#include "data/data_spec.h"

/* The data flags, as the library's data specification. */
typedef DataSpec DataArgs;

/* The description of the flags (data_spec_json), or NULL after printing
 * "pifi: CMD: <what is wrong>". */
cJSON *data_args_json(const DataArgs *a, const char *cmd);

/* Download url (http, https or file) into the open file fd, at most
 * max_bytes; 0, or -1 with err (cmd_data_fetch.c). Without libcurl at build
 * time it fails with "this pifi was built without libcurl". */
int data_fetch_url(const char *url, int fd, long long max_bytes, PifiErr *err);
/* 1 when this pifi was built with libcurl. */
int data_fetch_available(void);

#endif
