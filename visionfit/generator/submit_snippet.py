"""The cells a VisionFit Submit notebook starts from (``Generator.submit_snippet``).

Cells in the percent format (``# %%`` starts a code cell, ``# %% [markdown]`` a markdown
one). The Submit template provides ``sesh``, ``SEED`` and ``NUM_JOBS``; the snippet defines
``job_params``. :data:`SUBMIT_PARAMETERS` are appended to the template's parameters cell, so
``infinity-workflows rerun RECORD -p IMAGE_SIZE 512`` works like any other parameter.
"""

__all__ = ["SUBMIT_PARAMETERS", "SUBMIT_SNIPPET"]

SUBMIT_PARAMETERS = """\
IMAGE_SIZE = 256     # square frames, 128 to 512 px
FRAME_RATE = 12      # 30, 24, 12, 8 or 6 frames per second
MAX_REPS = 3         # each job does 1 to MAX_REPS repetitions
"""

SUBMIT_SNIPPET = '''\
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

from infinity_workflows.sampling import Choice, ClippedNormal, Uniform, sample_input
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
'''
