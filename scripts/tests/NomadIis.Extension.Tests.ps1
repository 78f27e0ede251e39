#Requires -Version 5.1
<#
    Pester 5 tests of the admin extension hooks in NomadIis.Extension.ps1:
    what a hook outputs, including $null and text written straight to the
    console, becomes the run's output.
#>

BeforeAll {
    Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '..\NomadIis.psm1') -Force -DisableNameChecking

    # Two extensions as host.ps1 loads them: a module each, the hook
    # function found in it.
    $bare = New-Module -Name 'NomadIisTestBare' -ScriptBlock {
        function Invoke-PreStopHook
        {
            param ($Context)
            [System.Console]::Write('bare ' + $Context.taskName)
        }
        Export-ModuleMember
    }
    $quiet = New-Module -Name 'NomadIisTestQuiet' -ScriptBlock {
        function Invoke-PreStopHook
        {
            param ($Context)
            return $null
        }
        Export-ModuleMember
    }
    $script:Registry = @(
        [pscustomobject] @{ Name = 'bare'; Path = 'bare.ps1'; Status = 'Loaded'; Error = ''; Functions = @{ PreStop = (& $bare { Get-Command -Name 'Invoke-PreStopHook' }) } }
        [pscustomobject] @{ Name = 'quiet'; Path = 'quiet.ps1'; Status = 'Loaded'; Error = ''; Functions = @{ PreStop = (& $quiet { Get-Command -Name 'Invoke-PreStopHook' }) } }
    )
}

AfterAll {
    Remove-Module -Name 'NomadIis' -Force -ErrorAction SilentlyContinue
}

Describe 'ConvertTo-HookOutputText' {
    It 'skips null records instead of failing to bind them' {
        InModuleScope -ModuleName 'NomadIis' -ScriptBlock {
            ConvertTo-HookOutputText -Records @($null, 'one', $null, 2) | Should -BeExactly "one`n2"
            ConvertTo-HookOutputText -Records @($null) | Should -BeExactly ''
            ConvertTo-HookOutputText -Records @() | Should -BeExactly ''
        }
    }
}

Describe 'Invoke-NomadIisHook' {
    It 'reports console writes and $null as the runs output, and restores the console' {
        InModuleScope -ModuleName 'NomadIis' -Parameters @{ Registry = $script:Registry } -ScriptBlock {
            param ($Registry)
            Set-ExtensionRegistry -Directory 'C:\extensions' -Extensions $Registry
            $before = [System.Console]::Out
            $result = Invoke-NomadIisHook -Hook 'PreStop' -Context ([pscustomobject] @{ taskName = 'web' })
            [System.Object]::ReferenceEquals($before, [System.Console]::Out) | Should -BeTrue
            $result.runs.Length | Should -Be 2
            $result.runs[0].extension | Should -BeExactly 'bare'
            $result.runs[0].output | Should -BeExactly 'bare web'
            $result.runs[1].extension | Should -BeExactly 'quiet'
            $result.runs[1].output | Should -BeExactly ''
        }
    }
}
