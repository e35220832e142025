#include "trainer_fixture.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "data/synth.h"
#include "testutil.h"

static char base_dir[512], data_path[600];
static int data_state; /* 0 not tried, 1 made, -1 failed */

static void remove_dataset(void)
{
    unlink(data_path);
    rmdir(base_dir);
}

const char *tf_dataset(void)
{
    if (data_state == 0) {
        atexit(remove_dataset);
        tu_tmpdir(base_dir, sizeof base_dir);
        snprintf(data_path, sizeof data_path, "%s/train.h5", base_dir);
        synth_config c;
        synth_config_default(&c);
        c.n_users = 2000;
        c.n_items = 500;
        c.n_impressions = 60000;
        c.seed = 5;
        c.chunk_rows = 4096;
        dmmp_status s = synth_generate(&c, data_path, NULL);
        if (s != DMMP_OK) printf("\n    synthetic data: %s\n", dmmp_errmsg());
        data_state = s == DMMP_OK ? 1 : -1;
    }
    return data_state == 1 ? data_path : NULL;
}

void tf_config(dmmp_config *c, config_model_kind kind)
{
    config_defaults(c);
    c->model.kind = kind;
    c->data.embedding_dim = 8;
    c->teacher.expert_dims.n = 2;
    c->teacher.expert_dims.v[0] = 32;
    c->teacher.expert_dims.v[1] = 16;
    c->teacher.tower_dims.n = 1;
    c->teacher.tower_dims.v[0] = 16;
    c->student.user_tower.n = 2;
    c->student.user_tower.v[0] = 32;
    c->student.user_tower.v[1] = 16;
    c->student.item_tower = c->student.user_tower;
    c->student.gate_dims.n = 1;
    c->student.gate_dims.v[0] = 8;
    if (kind != CONFIG_MODEL_DMMP) {
        c->kd.enabled = 0;
        c->student.gate = 0;
    }
    c->train.epochs = 2;
    c->train.batch_size = 512;
    c->train.learning_rate = 0.003;
    c->train.embedding_lr = 0.01;
    c->train.threads = 1; /* the machine is shared: a second thread mostly waits */
    c->train.log_every = 0;
    c->train.early_stopping_metric = CONFIG_METRIC_AUC_CTR;
}

void tf_run_dir(char *buf, size_t len, const char *name)
{
    tf_dataset();
    snprintf(buf, len, "%s/%s", base_dir, name);
    tf_remove_dir(buf);
}

dmmp_status tf_train(const dmmp_config *c, const char *dir, int resume, int64_t stop_after_steps,
                     trainer_summary *s)
{
    const char *data = tf_dataset();
    if (!data) return dmmp_fail(DMMP_EIO, "no test dataset");
    trainer_options o;
    trainer_options_default(&o);
    o.config = c;
    o.data_path = data;
    o.out_dir = dir;
    o.resume = resume;
    o.stop_after_steps = stop_after_steps;
    log_level keep = log_get_level();
    log_set_level(LOG_WARN); /* the suites print their own lines */
    dmmp_status st = trainer_run(&o, s);
    log_set_level(keep);
    return st;
}

dmmp_status tf_score(const char *dir, const char *which, data_split split, val_metrics *out)
{
    dataset *d = NULL;
    run_handle h;
    memset(&h, 0, sizeof h);
    DMMP_TRY(dataset_open(&d, tf_dataset()));
    dmmp_status s = run_load(dir, which, d, &h);
    if (s == DMMP_OK) s = validate_split(&h.feat, &h.model, d, split, out);
    run_close(&h);
    dataset_close(d);
    return s;
}

void tf_remove_dir(const char *dir)
{
    DIR *dh = opendir(dir);
    if (!dh) return;
    struct dirent *e;
    char path[1200];
    while ((e = readdir(dh)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(dh);
    rmdir(dir);
}
