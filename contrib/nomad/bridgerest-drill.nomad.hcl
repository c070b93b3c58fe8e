# Weekly drills of a fleet as a Nomad periodic batch job: `count` allocations of the group,
# each one worker; `bridgerest drill --all` takes the share of NOMAD_ALLOC_INDEX among
# BRIDGEREST_SHARD_COUNT (Nomad names the index, not the count: keep the two equal). No Nomad
# runs on the machines this project is tested on: this file is checked as HCL and for the
# fields below, not run.
job "bridgerest-drill" {
  type = "batch"

  periodic {
    crons            = ["30 3 * * 0"]
    time_zone        = "UTC"
    prohibit_overlap = true
  }

  group "drill" {
    count = 4

    restart {
      attempts = 1
      mode     = "fail"
    }

    reschedule {
      attempts  = 0
      unlimited = false
    }

    ephemeral_disk {
      size = 204800 # MB: a copy is the size of its cluster
    }

    task "drill" {
      driver = "exec"
      user   = "postgres"

      config {
        command = "/usr/bin/bridgerest"
        args    = ["--config", "/etc/bridgerest/bridgerest.toml", "drill", "--all"]
      }

      env {
        BRIDGEREST_SHARD_COUNT = "4"
        # The API key and the Pushgateway password, as files of a directory only the task reads.
        CREDENTIALS_DIRECTORY = "${NOMAD_SECRETS_DIR}"
      }

      template {
        destination = "${NOMAD_SECRETS_DIR}/api-key"
        perms       = "0400"
        data        = "{{ with nomadVar \"bridgerest/drill\" }}{{ .api_key }}{{ end }}"
      }

      template {
        destination = "${NOMAD_SECRETS_DIR}/push-password"
        perms       = "0400"
        data        = "{{ with nomadVar \"bridgerest/drill\" }}{{ .push_password }}{{ end }}"
      }

      resources {
        cpu    = 1000
        memory = 4096
      }

      kill_timeout = "120s" # SIGTERM first: a drill removes its copy (or asks its provider to)
    }
  }
}
