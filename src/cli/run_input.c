#include "cli/run_input.h"

#include <stdio.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "data/file_kind.h"

int cli_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int cli_check_run_input(const char *cmd, const char *run, const char *which, const char *data)
{
    file_kind run_kind = file_kind_of(run);
    if (run_kind == FILE_KIND_MISSING) return cli_usage_error(cmd, "--run %s: no such directory", run);
    if (run_kind != FILE_KIND_DIRECTORY)
        return cli_usage_error(cmd, "--run %s is %s, expected a run directory (the --out of dmmp train)", run,
                               file_kind_name(run_kind));
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.h5", run, which);
    if (!cli_file_exists(path)) return cli_usage_error(cmd, "no run in '%s' (%s is missing)", run, path);
    dmmp_status s = file_kind_expect(data, FILE_KIND_DATASET);
    if (s != DMMP_OK) return cli_report_error(cmd, s);
    return 0;
}

int cli_open_run_input(const char *cmd, const char *run, const char *which, const char *data, dataset **d,
                       run_handle *h)
{
    dmmp_status s = dataset_open(d, data);
    if (s != DMMP_OK) return cli_report_error(cmd, s);
    s = run_load(run, which, *d, h);
    if (s != DMMP_OK) {
        /* a run that cannot take this dataset is bad input, not a failure */
        int code = cli_report_error(cmd, s == DMMP_ENOMEM || s == DMMP_EDNNL ? s : DMMP_EFORMAT);
        dataset_close(*d);
        *d = NULL;
        return code;
    }
    return 0;
}
