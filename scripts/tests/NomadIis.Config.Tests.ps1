#Requires -Version 5.1
<#
    Pester 5 tests of the pool checks in NomadIis.Config.ps1 that need no
    IIS: IIS's duration rules and the environment variables of a pool.
#>

BeforeAll {
    Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '..\NomadIis.psm1') -Force -DisableNameChecking
}

AfterAll {
    Remove-Module -Name 'NomadIis' -Force -ErrorAction SilentlyContinue
}

Describe 'Assert-AppPoolDuration' {
    It 'accepts <Name> = <Milliseconds> ms' -TestCases @(
        @{ Name = 'idleTimeoutMs'; Milliseconds = 0; Minimum = 0; Maximum = 2592000; Step = 60 }
        @{ Name = 'idleTimeoutMs'; Milliseconds = 1200000; Minimum = 0; Maximum = 2592000; Step = 60 }
        @{ Name = 'periodicRestartMs'; Milliseconds = 25920000000; Minimum = 0; Maximum = 25920000; Step = 60 }
        @{ Name = 'startupTimeLimitMs'; Milliseconds = 1000; Minimum = 1; Maximum = 4294967; Step = 1 }
        @{ Name = 'shutdownTimeLimitMs'; Milliseconds = 90000; Minimum = 1; Maximum = 4294967; Step = 1 }
    ) {
        InModuleScope -ModuleName 'NomadIis' -Parameters $_ -ScriptBlock {
            param ($Name, $Milliseconds, $Minimum, $Maximum, $Step)
            { Assert-AppPoolDuration -Field $Name -Milliseconds $Milliseconds -MinimumSeconds $Minimum -MaximumSeconds $Maximum -GranularitySeconds $Step } |
                Should -Not -Throw
        }
    }

    It 'refuses <Name> = <Milliseconds> ms: <Message>' -TestCases @(
        @{ Name = 'idleTimeoutMs'; Milliseconds = 90000; Minimum = 0; Maximum = 2592000; Step = 60; Message = '*not a whole number of minutes*' }
        @{ Name = 'periodicRestartMs'; Milliseconds = 25920060000; Minimum = 0; Maximum = 25920000; Step = 60; Message = '*out of range*' }
        @{ Name = 'startupTimeLimitMs'; Milliseconds = 1500; Minimum = 1; Maximum = 4294967; Step = 1; Message = '*not a whole number of seconds*' }
        @{ Name = 'shutdownTimeLimitMs'; Milliseconds = 0; Minimum = 1; Maximum = 4294967; Step = 1; Message = '*out of range*' }
    ) {
        InModuleScope -ModuleName 'NomadIis' -Parameters $_ -ScriptBlock {
            param ($Name, $Milliseconds, $Minimum, $Maximum, $Step, $Message)
            { Assert-AppPoolDuration -Field $Name -Milliseconds $Milliseconds -MinimumSeconds $Minimum -MaximumSeconds $Maximum -GranularitySeconds $Step } |
                Should -Throw -ErrorId 'NomadIis.InvalidArgument' -ExpectedMessage ($Name + $Message)
        }
    }
}

Describe 'Assert-AppPoolSpec' {
    It 'refuses an idle timeout of 90 seconds, naming the field' {
        InModuleScope -ModuleName 'NomadIis' -ScriptBlock {
            $spec = [pscustomobject] @{ name = 'nomad-pool'; identity = 'ApplicationPoolIdentity'; idleTimeoutMs = 90000 }
            { Assert-AppPoolSpec -Field 'appPools[0]' -Spec $spec } |
                Should -Throw -ErrorId 'NomadIis.InvalidArgument' -ExpectedMessage '*.idleTimeoutMs: 90000 ms is not a whole number of minutes; IIS takes 0 to 2592000 seconds in steps of 60 seconds'
        }
    }

    It 'accepts an environment variable with an empty value' {
        InModuleScope -ModuleName 'NomadIis' -ScriptBlock {
            $spec = [pscustomobject] @{
                name                 = 'nomad-pool'
                environmentVariables = @(
                    [pscustomobject] @{ name = 'EMPTY'; value = '' }
                    [pscustomobject] @{ name = 'GREETING'; value = 'hello' }
                )
            }
            { Assert-AppPoolSpec -Field 'appPools[0]' -Spec $spec } | Should -Not -Throw
        }
    }

    It 'refuses a variable given twice in another case' {
        InModuleScope -ModuleName 'NomadIis' -ScriptBlock {
            $spec = [pscustomobject] @{
                name                 = 'nomad-pool'
                environmentVariables = @(
                    [pscustomobject] @{ name = 'Path'; value = 'a' }
                    [pscustomobject] @{ name = 'PATH'; value = 'b' }
                )
            }
            { Assert-AppPoolSpec -Field 'appPools[0]' -Spec $spec } |
                Should -Throw -ErrorId 'NomadIis.InvalidArgument' -ExpectedMessage "*.environmentVariables?1?: variable 'PATH' is given twice"
        }
    }
}

Describe 'ConvertTo-QualifiedAccountName' {
    It 'turns .\user into <computer>\user' {
        InModuleScope -ModuleName 'NomadIis' -ScriptBlock {
            ConvertTo-QualifiedAccountName -Name '.\svc-web' | Should -BeExactly ([System.Environment]::MachineName + '\svc-web')
        }
    }

    It 'leaves <Name> as it is, trimmed' -TestCases @(
        @{ Name = 'CONTOSO\svc-web'; Expected = 'CONTOSO\svc-web' }
        @{ Name = ' IIS AppPool\nomad-1 '; Expected = 'IIS AppPool\nomad-1' }
        @{ Name = 'svc@contoso.com'; Expected = 'svc@contoso.com' }
    ) {
        InModuleScope -ModuleName 'NomadIis' -Parameters $_ -ScriptBlock {
            param ($Name, $Expected)
            ConvertTo-QualifiedAccountName -Name $Name | Should -BeExactly $Expected
        }
    }
}
