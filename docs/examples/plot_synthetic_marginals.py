"""
Synthetic rows of a mixed-type table against the real ones
==========================================================

``VAETransformer.sample`` draws new rows in the types of the training table:
numbers stay numbers (integers stay integers), categories stay categories.
``MarginalsDisplay`` overlays each column of the real and the synthetic rows.
``sample(given=...)`` draws rows with some columns fixed, by posterior
inference on the others.
"""

# %%
# A mixed table built from the wine data: 4 numeric columns, a categorical
# cultivar and a binary "strong" flag.
import os

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.datasets import load_wine

from sklearn_vae import VAETransformer
from sklearn_vae.plotting import MarginalsDisplay

quick = bool(os.environ.get("SKLEARN_VAE_DOCS_QUICK"))
wine = load_wine(as_frame=True)
df = wine.data[["alcohol", "malic_acid", "color_intensity", "proline"]].copy()
df["proline"] = df["proline"].round().astype("int64")
df["cultivar"] = pd.Categorical(wine.target.map({0: "A", 1: "B", 2: "C"}))
df["strong"] = df["alcohol"] > 13.0

vae = VAETransformer(n_components=3, learning_rate_init=3e-3, random_state=0,
                     max_iter=40 if quick else 200).fit(df)
synthetic = vae.sample(len(df), random_state=0)
print(synthetic.dtypes.to_dict())

# %%
# Real against synthetic, column by column.
display = MarginalsDisplay.from_estimator(vae, df, random_state=0)
display.figure_.set_size_inches(11, 6)
display.figure_.tight_layout()

# %%
# Rows of cultivar "C" only (posterior inference on the other columns), against
# the real rows of that cultivar.
c_rows = vae.sample(500, random_state=0, given={"cultivar": "C"})
real_c = df[df["cultivar"] == "C"]
print(pd.DataFrame({"synthetic, given C": c_rows.mean(numeric_only=True),
                    "real C rows": real_c.mean(numeric_only=True),
                    "all real rows": df.mean(numeric_only=True)}).round(2))
fig, ax = plt.subplots(figsize=(6, 4))
ax.hist(df["proline"], bins=25, density=True, alpha=0.4, label="all real rows")
ax.hist(real_c["proline"], bins=15, density=True, alpha=0.6, label="real rows of C")
ax.hist(c_rows["proline"], bins=25, density=True, histtype="step", linewidth=2,
        label="sampled given C")
ax.set_xlabel("proline")
ax.legend()
fig.tight_layout()
