"""PPO fine-tuning of the transformer policy with sb3-contrib's MaskablePPO.

`policy.XLogoTransformerPolicy` makes the policy (`agents.policy.model.PolicyModel`) a
`MaskableActorCriticPolicy` that reads the env's Dict observations; `train.train_ppo` runs
`xlogo-gym train-ppo`. Both import torch and stable-baselines3: import them where needed.
"""
