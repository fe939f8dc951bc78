"""The cells VisionFit's record notebooks start from (``Generator.notebook_snippets``).

Percent format (see :mod:`infinity_workflows.snippets`). The Submit template provides
``sesh``, ``SEED`` and ``NUM_JOBS`` and this snippet defines ``job_params``; the Download
template provides ``sesh``, ``batch``, ``folder``, ``download_ui`` and ``JOB`` and this
snippet reviews what was downloaded. The parameter lines join the template's parameters cell, so
``infinity-workflows rerun RECORD -p IMAGE_SIZE 512`` works like any other parameter.
"""

from infinity_workflows.snippets import NotebookSnippet

__all__ = ["DOWNLOAD", "SUBMIT"]

SUBMIT = NotebookSnippet(parameters="""\
IMAGE_SIZE = 256     # square frames, 128 to 512 px
FRAME_RATE = 12      # 30, 24, 12, 8 or 6 frames per second
MAX_REPS = 3         # each job does 1 to MAX_REPS repetitions
""", cells='''\
# %% [markdown]
# ## Craft the jobs
#
# `sample_input(sesh, rng, **fixed)` returns one job. Every parameter not named is drawn from
# a sensible distribution for it; every named one is checked against the generator's schema,
# and may be a fixed value, a distribution (`Uniform`, `ClippedNormal`, `Choice`, ...) or a
# category such as `exercise="BURPEE"`, which picks one of its numbered variants per job.
# Change the distributions below to shape the batch.

# %%
import random

from visionfit.utils.sampling import Choice, ClippedNormal, Uniform, sample_input
from visionfit.utils.vis import visualize_job_params

rng = random.Random(SEED)
custom_distributions = dict(
    scene=Choice(["GYM_1", "LIVINGROOM_1", "OFFICE_1", "BEDROOM_2"]),
    exercise=Choice(["BURPEE", "SQUAT-BODYWEIGHT", "JUMPING_JACK", "UPPERCUT-LEFT"]),
    camera_distance=Uniform(2.5, 4.5),
    lighting_power=ClippedNormal(150.0, 60.0, lo=50.0, hi=400.0),  # 100 is the default look
    num_reps=Uniform(1, MAX_REPS),
    frame_rate=FRAME_RATE,
    image_width=IMAGE_SIZE,
    image_height=IMAGE_SIZE,
)
job_params = [sample_input(sesh, rng=rng, **custom_distributions) for _ in range(NUM_JOBS)]
print(f"{len(job_params)} jobs crafted")

# %%
visualize_job_params(job_params)
''')

DOWNLOAD = NotebookSnippet(parameters="""\
MOSAIC_JOBS = 6          # how many jobs the mosaic shows side by side
STRATIFY_BY = ""         # a parameter to split the histograms by, e.g. scene (empty: none)
EXPORT_COCO = False      # True: also write the downloaded jobs as one COCO dataset
""", cells='''\
# %% [markdown]
# ## Summary of the downloaded jobs
#
# One table row per job, read from the batch's summary index (`review/summary.jsonl` in the
# download folder, brought up to date here), so the histograms and the coverage report below
# read one file too. Videos, mosaics and figures are files in that `review/` folder, linked
# from this notebook rather than embedded, so the record stays small at any batch size.

# %%
from infinity_workflows.review import linked_figure, review_folder, table_view
from visionfit.utils.export import export_coco
from visionfit.utils.summary_index import index_digest
from visionfit.utils.vis import (
    display_batch_results,
    display_video,
    label_coverage,
    summarize_batch_results_as_dataframe,
    view_previews,
    visualize_all_labels,
    visualize_batch_results,
)

job_folders = [folder / job_id for job_id in batch.job_ids if (folder / job_id).is_dir()]
if job_folders:
    summary_df = summarize_batch_results_as_dataframe(folder)
    digest = index_digest(folder)  # figures drawn for this digest are not drawn again
    display(table_view(summary_df))  # job ids shortened; summary_df has them whole
else:
    summary_df = None
    print("Nothing downloaded yet: click Download or Wait and Download above, "
          "then run the cells below.")

# %% [markdown]
# ## Previews

# %%
if job_folders and getattr(download_ui.report, "downloaded", None):
    print("The previews are shown under the Download buttons above.")
elif job_folders:
    display(linked_figure(lambda: view_previews(folder), review_folder(folder) / "previews.png",
                          key=digest))

# %% [markdown]
# ## One job: video and labels
#
# Set `JOB` in the parameters cell to look at another job. The label video shows every label
# frame by frame: boxes with instance names, the skeleton, keypoints by visibility, 3D cuboids,
# instance and semantic masks, the 3D skeleton in world coordinates and the rep count (for a
# preview, the same panels as one picture). `visualize_frame(chosen, frame)` draws one frame as
# a figure for a closer look.

# %%
chosen = None
if job_folders:
    job_id = JOB if isinstance(JOB, str) else batch.job_ids[JOB]
    chosen = folder / job_id
    if not chosen.is_dir():
        print(f"Job {job_id} is not downloaded (it may have failed or still be running).")
        chosen = None
if chosen is not None and batch.job_type == "video":
    display(display_video(chosen))
elif chosen is not None:
    print("A preview batch has no videos: each job rendered one frame.")

# %%
if chosen is not None:
    display(visualize_all_labels(chosen))

# %% [markdown]
# ## Several jobs side by side
#
# The label videos (or, for previews, the label pictures) of `MOSAIC_JOBS` jobs spread over the
# batch, playing in step.

# %%
if job_folders:
    display(display_batch_results(folder, n=MOSAIC_JOBS))

# %% [markdown]
# ## Parameters and label statistics

# %%
if job_folders:
    display(linked_figure(
        lambda: visualize_batch_results(summary_df, stratify_var=STRATIFY_BY or None),
        review_folder(folder) / "histograms.png", key=[digest, STRATIFY_BY]))

# %% [markdown]
# ## What the batch covers
#
# Per-joint visibility, the occlusion distribution, where the person's box sits and how big it
# is, the camera against the avatar's angle, and exercise x scene counts. For a previews batch
# this is what the matching video batch will cover: pick the previews you want and rerun them as
# videos with the line printed below (same seeds, so the same people, rooms and cameras).

# %%
if job_folders:
    display(linked_figure(lambda: label_coverage(folder), review_folder(folder) / "coverage.png",
                          key=digest))
if job_folders and batch.job_type == "preview":
    picked = [job_dir.name for job_dir in job_folders][:3]
    print("Rerun chosen previews as videos (edit job_ids; one override dict per variant):\\n"
          "from visionfit.utils.sampling import submit_rerun_batch_with_overrides_videos\\n"
          f"videos = submit_rerun_batch_with_overrides_videos(sesh, batch, {{}}, "
          f"job_ids={picked!r})")

# %% [markdown]
# ## Export for training
#
# Training tools want one image file per frame and one annotations file. `export_coco` writes
# the downloaded jobs as one COCO dataset beside the download folder (`<folder>_coco/`):
# frames as PNG, ids unique across the batch, every VisionFit label kept. Set `EXPORT_COCO`
# in the parameters cell, or call it yourself (`every_nth=` keeps every n-th frame).

# %%
if EXPORT_COCO and job_folders:
    annotations_file = export_coco(folder, overwrite=True)
    print(f"COCO dataset: {annotations_file}")
''')
