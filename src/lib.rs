//! roster: GitOps user provisioning for Asana.
